package floe.e2e;

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

/**
 * Connects to floe with PgJDBC, runs a prepared statement with parameters
 * (often enough to pass PgJDBC's prepareThreshold, so it switches to named
 * server-side statements), reads rows, and lists tables, columns and schemas
 * through DatabaseMetaData. It prints one line per fact; the Go test
 * (test/drivers_test.go) compares them. A check that fails prints
 * "error CHECK SQLSTATE MESSAGE" and the next check still runs.
 * Connection settings come from E2E_JDBC_URL, E2E_USER and E2E_PASSWORD.
 */
public final class JdbcCheck {
    public static void main(String[] args) throws SQLException {
        try (Connection c = Checks.connect()) {
            Checks.check(c, "product", JdbcCheck::product);
            Checks.check(c, "prepared", JdbcCheck::prepared);
            Checks.check(c, "timestamp", JdbcCheck::timestampParameter);
            Checks.check(c, "statement", JdbcCheck::statement);
            Checks.check(c, "getTables", JdbcCheck::tables);
            Checks.check(c, "getColumns", JdbcCheck::columns);
            Checks.check(c, "getSchemas", JdbcCheck::schemas);
        }
    }

    static void product(Connection c) throws SQLException {
        System.out.println("product " + c.getMetaData().getDatabaseProductName());
    }

    static void prepared(Connection c) throws SQLException {
        String q = "SELECT id, name, score, seen_at FROM e2e_jdbc.items WHERE id >= ? AND name <> ? ORDER BY id";
        try (PreparedStatement ps = c.prepareStatement(q)) {
            for (int run = 1; run <= 7; run++) {
                ps.setInt(1, 2);
                ps.setString(2, "zed");
                StringBuilder sb = new StringBuilder();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        OffsetDateTime at = rs.getObject(4, OffsetDateTime.class);
                        sb.append("row ").append(rs.getLong(1)).append(' ').append(rs.getString(2))
                          .append(' ').append(rs.getDouble(3))
                          .append(' ').append(at.withOffsetSameInstant(ZoneOffset.UTC)).append('\n');
                    }
                }
                if (run == 1 || run == 7) {
                    System.out.print(sb);
                }
            }
        }
    }

    static void timestampParameter(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM e2e_jdbc.items WHERE seen_at < ?")) {
            ps.setObject(1, OffsetDateTime.of(2024, 2, 1, 0, 0, 0, 0, ZoneOffset.UTC));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                System.out.println("before february " + rs.getLong(1));
            }
        }
    }

    static void statement(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT 1 + 1")) {
            rs.next();
            System.out.println("statement " + rs.getInt(1));
        }
    }

    static void tables(Connection c) throws SQLException {
        DatabaseMetaData md = c.getMetaData();
        try (ResultSet rs = md.getTables(null, "e2e_jdbc", "%", new String[] {"TABLE"})) {
            while (rs.next()) {
                System.out.println("table " + rs.getString("TABLE_SCHEM") + "." + rs.getString("TABLE_NAME")
                    + " " + rs.getString("TABLE_TYPE"));
            }
        }
    }

    static void columns(Connection c) throws SQLException {
        DatabaseMetaData md = c.getMetaData();
        try (ResultSet rs = md.getColumns(null, "e2e_jdbc", "items", "%")) {
            while (rs.next()) {
                System.out.println("column " + rs.getString("COLUMN_NAME") + " " + rs.getString("TYPE_NAME")
                    + " " + rs.getInt("ORDINAL_POSITION"));
            }
        }
    }

    static void schemas(Connection c) throws SQLException {
        DatabaseMetaData md = c.getMetaData();
        try (ResultSet rs = md.getSchemas()) {
            while (rs.next()) {
                if (rs.getString("TABLE_SCHEM").equals("e2e_jdbc")) {
                    System.out.println("schema e2e_jdbc");
                }
            }
        }
    }
}
