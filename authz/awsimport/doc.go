// Package awsimport turns an AWS estate's access control into a floe policy
// directory (docs/policy.md): `floe policy import aws`.
//
// Fetch reads IAM (GetAccountAuthorizationDetails: users, groups, roles,
// their tags, attached managed policies at their default version, inline
// policies) and, where the account uses it, Lake Formation (data cells
// filters and permissions) through aws-sdk-go-v2 clients the caller builds.
// Map is pure: it turns that Snapshot into the files of a policy directory
// and Notes saying what floe cannot express and what was therefore left out
// or changed. Every change fails closed (grants less), except a Deny
// statement floe cannot read at all, which is dropped with a warning.
// Result.Write checks the files with authz.Compile before they replace
// anything.
//
// It imports authz (only to check what it writes) and aws-sdk-go-v2; authz
// does not import it. No goroutines; Fetch honours ctx.
package awsimport
