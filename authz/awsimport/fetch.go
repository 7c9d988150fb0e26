package awsimport

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/lakeformation"
	lftypes "github.com/aws/aws-sdk-go-v2/service/lakeformation/types"
)

// IAMClient is the part of the IAM API Fetch uses (*iam.Client has it).
type IAMClient interface {
	iam.GetAccountAuthorizationDetailsAPIClient
}

// LakeFormationClient is the part of the Lake Formation API Fetch uses
// (*lakeformation.Client has it).
type LakeFormationClient interface {
	lakeformation.ListDataCellsFilterAPIClient
	lakeformation.ListPermissionsAPIClient
}

var (
	_ IAMClient           = (*iam.Client)(nil)
	_ LakeFormationClient = (*lakeformation.Client)(nil)
)

// Snapshot is what Fetch read: the AWS service model's own types, so that
// Map can be tested on responses shaped exactly as AWS sends them.
type Snapshot struct {
	Users    []iamtypes.UserDetail
	Groups   []iamtypes.GroupDetail
	Roles    []iamtypes.RoleDetail
	Policies []iamtypes.ManagedPolicyDetail // managed policies, every version listed

	// LakeFormation is false when Lake Formation was not read (no client,
	// or the account/endpoint does not serve it: LakeFormationErr says why).
	LakeFormation    bool
	LakeFormationErr error
	DataCellsFilters []lftypes.DataCellsFilter
	Permissions      []lftypes.PrincipalResourcePermissions
}

// Fetch reads IAM (every page of GetAccountAuthorizationDetails) and, when
// lf is not nil, Lake Formation's data cells filters and permissions. An
// IAM error is returned; a Lake Formation error is kept in the Snapshot
// (LakeFormationErr) so that an estate without Lake Formation, or a caller
// without its permissions, still imports IAM — Map turns it into a
// warning. Importing less from Lake Formation only ever grants less.
func Fetch(ctx context.Context, ic IAMClient, lf LakeFormationClient) (*Snapshot, error) {
	s := &Snapshot{}
	pages := iam.NewGetAccountAuthorizationDetailsPaginator(ic, &iam.GetAccountAuthorizationDetailsInput{})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("iam GetAccountAuthorizationDetails: %w", err)
		}
		s.Users = append(s.Users, out.UserDetailList...)
		s.Groups = append(s.Groups, out.GroupDetailList...)
		s.Roles = append(s.Roles, out.RoleDetailList...)
		s.Policies = append(s.Policies, out.Policies...)
	}
	if lf == nil {
		return s, nil
	}
	if err := fetchLakeFormation(ctx, lf, s); err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		s.DataCellsFilters, s.Permissions = nil, nil
		s.LakeFormationErr = err
		return s, nil
	}
	s.LakeFormation = true
	return s, nil
}

func fetchLakeFormation(ctx context.Context, lf LakeFormationClient, s *Snapshot) error {
	filters := lakeformation.NewListDataCellsFilterPaginator(lf, &lakeformation.ListDataCellsFilterInput{})
	for filters.HasMorePages() {
		out, err := filters.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("lakeformation ListDataCellsFilter: %w", err)
		}
		s.DataCellsFilters = append(s.DataCellsFilters, out.DataCellsFilters...)
	}
	perms := lakeformation.NewListPermissionsPaginator(lf, &lakeformation.ListPermissionsInput{})
	for perms.HasMorePages() {
		out, err := perms.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("lakeformation ListPermissions: %w", err)
		}
		s.Permissions = append(s.Permissions, out.PrincipalResourcePermissions...)
	}
	return nil
}
