// Package postgres is the PostgreSQL persistent store: every kind of
// persistent data (accounts, roster, last activity, offline messages,
// per-user data, PEP, message archives) in tables of one schema, shared
// by every core of a cluster (DESIGN principle 6). It registers the
// storage backend "postgres"; the conformance suite (storage/storagetest)
// runs against a real server with `make postgres-test`.
//
// Users are keyed by their bare JID string (prepared, so equal JIDs are
// equal strings). Each file owns its tables and appends their statements
// to the schema, which Open applies in one transaction under an advisory
// lock: cores starting together create it once. Statements are plain SQL
// with placeholders; nothing is built from user input.
package postgres
