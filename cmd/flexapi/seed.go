package main

import (
	"context"
	"fmt"

	"github.com/flexapi/flexapi"
	"github.com/flexapi/flexapi/sqlstore"
)

// applySeed makes the store hold what the seed says, in one transaction.
func applySeed(ctx context.Context, store *sqlstore.Store, s flexapi.Seed) (flexapi.SeedResult, error) {
	res, err := store.ApplySeed(ctx, s)
	if err != nil && flexapi.ErrorCode(err) == flexapi.EINVALID {
		return res, fmt.Errorf("seed: %s", flexapi.ErrorMessage(err))
	}
	return res, err
}
