// Package authz owns who a principal is and what it may do: the principal
// directory (users and their SCRAM-SHA-256 password verifiers, never
// passwords), HTTP Basic authentication, and the central policy.
//
// The policy is a directory (docs/policy.md): principals.json (users,
// groups, roles, tags, attached policies), IAM JSON policy documents and
// data filters (a structured row filter predicate and a column rule with
// masks). Compile checks it and compiles it to a Casbin model and policy
// (roles with inheritance, IAM's deny override, ARN globs, conditions as
// registered functions). Policy.Decide answers "may principal P do action
// A on table T, and with which row filter and column rule"; Policy.Visible
// answers catalog emulation. Holder keeps the policy in force and swaps in
// valid changes of the directory.
//
// The audit trail (docs/audit.md): AuditRecord is one statement as the
// gateway reports it; AuditLog writes records as JSON lines to a rotated
// file and pushes them in batches to the audit table through a function
// its owner supplies. The statement text is an opaque string here: it is
// only redacted (RedactStatement, a lexical rule) and stored.
//
// It must not see SQL text or DuckDB: row filters are Predicate trees of
// column-versus-typed-literal comparisons that the gateway renders. It may
// import only Casbin, sqlstate, scram and the standard library.
//
// Concurrency: a Directory rereads its file when it changes and is safe for
// concurrent use. A Policy is immutable and safe for concurrent use; the
// Decisions it returns are shared (cached) and read-only. A Holder's Run
// goroutine is owned by its caller, which cancels its context to stop it.
// AuditLog.Record may be called from any goroutine and never blocks; the
// AuditLog owns its writer and pusher goroutines, which Close drains and
// waits for.
package authz
