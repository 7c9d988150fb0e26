// Package authz owns who a principal is and what it may do. Today it holds
// the principal directory (users and their SCRAM-SHA-256 password
// verifiers, never passwords); the central policy (IAM-style documents
// compiled to Casbin, row filters and column rules, audit) grows here.
//
// It must not import SQL text handling, DuckDB or any other floe package
// except sqlstate. A Directory is safe for concurrent use; it rereads its
// file when the file changes on disk.
package authz
