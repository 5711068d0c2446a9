package store

import "context"

// ExplainList returns the engine's plan of the query ListObjects runs for q.
func ExplainList(ctx context.Context, s Store, collection string, q Query) (string, error) {
	return s.(*sqlStore).explainList(ctx, collection, q)
}
