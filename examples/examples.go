// Package examples carries the example files that ship inside the floe
// binary: the clinical policy that `floe demo` installs and tests use.
package examples

import "embed"

// ClinicalPolicy is examples/policies/clinical: principals, IAM policy
// documents and data filters for the demo's clinical-trial tables.
//
//go:embed policies/clinical
var ClinicalPolicy embed.FS

// ClinicalPolicyRoot is the directory of ClinicalPolicy's files.
const ClinicalPolicyRoot = "policies/clinical"
