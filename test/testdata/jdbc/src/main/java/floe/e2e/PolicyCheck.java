package floe.e2e;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Connects to floe with PgJDBC as a principal under a row filter and an
 * excluded column (test/drivers_test.go, the clinical example policy) and
 * prints what that principal sees: the columns and rows of SELECT *, a
 * prepared statement run past prepareThreshold, a cast that would fail on a
 * hidden row, the SQLSTATE of naming the excluded column, and the columns
 * DatabaseMetaData lists. A check that fails prints
 * "error CHECK SQLSTATE MESSAGE". Settings: E2E_JDBC_URL, E2E_USER,
 * E2E_PASSWORD.
 */
public final class PolicyCheck {
    public static void main(String[] args) throws SQLException {
        try (Connection c = Checks.connect()) {
            Checks.check(c, "select", PolicyCheck::selectStar);
            Checks.check(c, "prepared", PolicyCheck::prepared);
            Checks.check(c, "cast", PolicyCheck::cast);
            Checks.check(c, "excluded", PolicyCheck::excluded);
            Checks.check(c, "getColumns", PolicyCheck::columns);
        }
    }

    static void selectStar(Connection c) throws SQLException {
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT * FROM clinical.subjects ORDER BY subject_id")) {
            ResultSetMetaData md = rs.getMetaData();
            StringBuilder cols = new StringBuilder("columns");
            for (int i = 1; i <= md.getColumnCount(); i++) {
                cols.append(' ').append(md.getColumnName(i));
            }
            System.out.println(cols);
            while (rs.next()) {
                System.out.println("row " + rs.getString("subject_id") + " " + rs.getString("site_id"));
            }
        }
    }

    // Five executions: PgJDBC switches to a named server-side statement at
    // the fifth (prepareThreshold), which must stay under the policy.
    static void prepared(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM clinical.subjects WHERE age > ?")) {
            StringBuilder out = new StringBuilder("prepared");
            for (int i = 0; i < 5; i++) {
                ps.setLong(1, 0);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    out.append(' ').append(rs.getLong(1));
                }
            }
            System.out.println(out);
        }
    }

    static void cast(Connection c) throws SQLException {
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT CAST(sum(CAST(subject_id AS INTEGER)) AS BIGINT) FROM clinical.subjects")) {
            rs.next();
            System.out.println("cast " + rs.getLong(1));
        }
    }

    static void excluded(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.executeQuery("SELECT treatment_arm FROM clinical.subjects");
            System.out.println("excluded readable");
        } catch (SQLException e) {
            System.out.println("excluded " + e.getSQLState());
        }
    }

    static void columns(Connection c) throws SQLException {
        try (ResultSet rs = c.getMetaData().getColumns(null, "clinical", "subjects", null)) {
            StringBuilder out = new StringBuilder("metadata");
            while (rs.next()) {
                out.append(' ').append(rs.getString("COLUMN_NAME"));
            }
            System.out.println(out);
        }
    }
}
