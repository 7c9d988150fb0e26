package floe.e2e;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/**
 * What the check programs share: the connection (E2E_JDBC_URL, E2E_USER,
 * E2E_PASSWORD) and running one named check, printing
 * "error CHECK SQLSTATE MESSAGE" when it fails so that the next still runs.
 */
final class Checks {
    interface Check {
        void run(Connection c) throws SQLException;
    }

    private Checks() {
    }

    static Connection connect() throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", System.getenv("E2E_USER"));
        props.setProperty("password", System.getenv("E2E_PASSWORD"));
        return DriverManager.getConnection(System.getenv("E2E_JDBC_URL"), props);
    }

    static void check(Connection c, String name, Check check) {
        try {
            check.run(c);
        } catch (SQLException e) {
            System.out.println("error " + name + " " + e.getSQLState() + " " + e.getMessage().replace('\n', ' '));
        }
    }
}
