package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meridian-xmpp/meridian/core/mod/mam"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// archive implements mam.Store. A message is a row keyed by its user and
// its ID, kept as the 16 bytes of mam.ID: bytea compares bytewise, as IDs
// do, so ORDER BY id is the archive order and a time range is an ID range
// of the primary key. The other party is split into its bare JID and its
// resource ("" for a bare JID), so that the second index answers both
// bare and full With queries in ID order. at repeats the ID's instant for
// whoever reads the table with SQL (retention jobs, inspection); queries
// use the ID.
type archive struct{ d *DB }

var _ mam.Store = archive{}

func init() {
	schema = append(schema,
		`CREATE TABLE IF NOT EXISTS archive_message (
			username      text        NOT NULL,
			id            bytea       NOT NULL CHECK (octet_length(id) = 16),
			at            timestamptz NOT NULL,
			with_bare     text        NOT NULL,
			with_resource text        NOT NULL,
			stanza        bytea       NOT NULL,
			PRIMARY KEY (username, id)
		)`,
		`CREATE INDEX IF NOT EXISTS archive_message_with
			ON archive_message (username, with_bare, id) INCLUDE (with_resource)`,
		`CREATE TABLE IF NOT EXISTS archive_prefs (
			username       text   PRIMARY KEY,
			default_policy text   NOT NULL CHECK (default_policy IN ('always', 'never', 'roster')),
			always_jids    text[] NOT NULL,
			never_jids     text[] NOT NULL
		)`,
	)
}

// Append inserts every entry with one statement, which PostgreSQL runs
// in a transaction of its own: all rows or none.
func (a archive) Append(ctx context.Context, entries ...mam.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	n := len(entries)
	var (
		users     = make([]string, 0, n)
		ids       = make([][]byte, 0, n)
		ats       = make([]time.Time, 0, n)
		bares     = make([]string, 0, n)
		resources = make([]string, 0, n)
		stanzas   = make([][]byte, 0, n)
	)
	for _, e := range entries {
		if e.User.IsZero() || e.ID.IsZero() || e.With.IsZero() {
			return errors.New("storage/postgres: archive: message without user, ID or with")
		}
		users = append(users, e.User.Bare().String())
		ids = append(ids, e.ID[:])
		ats = append(ats, e.ID.Time())
		bares = append(bares, e.With.Bare().String())
		resources = append(resources, e.With.Resource())
		st := e.Stanza
		if st == nil {
			st = []byte{} // NOT NULL: a message without bytes is still one
		}
		stanzas = append(stanzas, st)
	}
	return a.d.exec(ctx, `
		INSERT INTO archive_message (username, id, at, with_bare, with_resource, stanza)
		SELECT * FROM unnest($1::text[], $2::bytea[], $3::timestamptz[], $4::text[], $5::text[], $6::bytea[])`,
		users, ids, ats, bares, resources, stanzas)
}

// Query reads the page, the size of the result set and the number of
// its messages before the page in one batch, in a read-only snapshot so
// that the three agree under concurrent appends. The set's filters are
// its WHERE clause, built from constant fragments: each shape is its own
// prepared statement, planned for the indexes it can use.
func (a archive) Query(ctx context.Context, user jid.JID, q mam.Query) (mam.Page, error) {
	limit := max(q.Max, 0)
	lo, hi := archiveBounds(q)
	after, before := mam.ID{}, mam.MaxID
	if !q.After.IsZero() {
		after = q.After
	}
	if !q.Before.IsZero() {
		before = q.Before
	}
	args := pgx.NamedArgs{
		"user":   user.Bare().String(),
		"lo":     lo[:],
		"hi":     hi[:],
		"after":  after[:],
		"before": before[:],
		"limit":  limit + 1, // one more tells whether the page is complete
	}
	where := "username = @user AND id BETWEEN @lo AND @hi"
	if !q.With.IsZero() {
		where += " AND with_bare = @bare"
		args["bare"] = q.With.Bare().String()
		if !q.With.IsBare() {
			where += " AND with_resource = @resource"
			args["resource"] = q.With.Resource()
		}
	}
	if q.IDs != nil {
		where += " AND id = ANY(@ids)"
		args["ids"] = archiveIDBytes(q.IDs)
	}
	order := "ASC"
	if q.Last {
		order = "DESC"
	}

	b := &pgx.Batch{}
	// Every ID the query names must be in the archive.
	known := archiveKnown(q)
	found := 0
	if len(known) > 0 {
		args["known"] = known
		b.Queue(`SELECT count(*) FROM archive_message WHERE username = @user AND id = ANY(@known)`, args).
			QueryRow(func(r pgx.Row) error { return r.Scan(&found) })
	}
	// The set's size, and how much of it lies outside the paging bounds.
	var count, ahead, behind int
	b.Queue(`SELECT count(*), count(*) FILTER (WHERE id <= @after), count(*) FILTER (WHERE id >= @before)
		FROM archive_message WHERE `+where, args).
		QueryRow(func(r pgx.Row) error { return r.Scan(&count, &ahead, &behind) })
	var msgs []mam.Message
	b.Queue(`SELECT id, with_bare, with_resource, stanza FROM archive_message
		WHERE `+where+` AND id > @after AND id < @before
		ORDER BY id `+order+` LIMIT @limit`, args).
		Query(func(rows pgx.Rows) error {
			var err error
			msgs, err = pgx.CollectRows(rows, archiveScan)
			return err
		})
	err := pgx.BeginTxFunc(ctx, a.d.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
	if err != nil {
		return mam.Page{}, wrap(err)
	}
	if found != len(known) {
		return mam.Page{}, mam.ErrUnknownID
	}

	page := mam.Page{Complete: len(msgs) <= limit, Count: count, Index: -1}
	if len(msgs) > limit {
		msgs = msgs[:limit]
	}
	if q.Last {
		slices.Reverse(msgs)
	}
	if len(msgs) > 0 {
		// The page starts just after After going forward, and ends just
		// before Before going back.
		page.Index = ahead
		if q.Last {
			page.Index = count - behind - len(msgs)
		}
	}
	page.Messages = msgs
	return page, nil
}

// archiveBounds returns the inclusive ID range that the query's time and
// ID filters allow.
func archiveBounds(q mam.Query) (lo, hi mam.ID) {
	hi = mam.MaxID
	if !q.Start.IsZero() {
		lo = mam.FirstIDAt(q.Start)
	}
	if !q.AfterID.IsZero() {
		if n := q.AfterID.Next(); n.Compare(lo) > 0 {
			lo = n
		}
	}
	if !q.End.IsZero() {
		hi = mam.LastIDAt(q.End)
	}
	if !q.BeforeID.IsZero() {
		if p := q.BeforeID.Prev(); p.Compare(hi) < 0 {
			hi = p
		}
	}
	return lo, hi
}

// archiveKnown returns the distinct IDs that q requires to be in the
// archive.
func archiveKnown(q mam.Query) [][]byte {
	ids := slices.Clone(q.IDs)
	for _, id := range [...]mam.ID{q.AfterID, q.BeforeID, q.After, q.Before} {
		if !id.IsZero() {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, mam.ID.Compare)
	return archiveIDBytes(slices.Compact(ids))
}

// archiveIDBytes converts IDs to bytea[] parameters; the result is never
// nil, so that no IDs is an empty array rather than NULL.
func archiveIDBytes(ids []mam.ID) [][]byte {
	out := make([][]byte, 0, len(ids))
	for _, id := range ids {
		out = append(out, id[:])
	}
	return out
}

// archiveID reads a bytea ID.
func archiveID(b []byte) (mam.ID, error) {
	var id mam.ID
	if len(b) != len(id) {
		return id, fmt.Errorf("archive: ID of %d bytes", len(b))
	}
	copy(id[:], b)
	return id, nil
}

// archiveScan reads a row of id, with_bare, with_resource, stanza.
func archiveScan(row pgx.CollectableRow) (mam.Message, error) {
	var (
		id        []byte
		bare, res string
		m         mam.Message
		err       error
	)
	if err = row.Scan(&id, &bare, &res, &m.Stanza); err != nil {
		return m, err
	}
	if m.ID, err = archiveID(id); err != nil {
		return m, err
	}
	with := bare
	if res != "" {
		with += "/" + res
	}
	if m.With, err = jid.Parse(with); err != nil {
		return m, fmt.Errorf("archive: message with %q: %w", with, err)
	}
	return m, nil
}

func (a archive) Bounds(ctx context.Context, user jid.JID) (first, last mam.ID, ok bool, err error) {
	var lo, hi []byte
	err = a.d.pool.QueryRow(ctx, `SELECT
		(SELECT id FROM archive_message WHERE username = $1 ORDER BY id ASC LIMIT 1),
		(SELECT id FROM archive_message WHERE username = $1 ORDER BY id DESC LIMIT 1)`,
		user.Bare().String()).Scan(&lo, &hi)
	if err != nil || lo == nil {
		return first, last, false, wrap(err)
	}
	if first, err = archiveID(lo); err != nil {
		return first, last, false, wrap(err)
	}
	if last, err = archiveID(hi); err != nil {
		return first, last, false, wrap(err)
	}
	return first, last, true, nil
}

func (a archive) Prefs(ctx context.Context, user jid.JID) (mam.Prefs, bool, error) {
	var (
		p             mam.Prefs
		always, never []string
	)
	err := a.d.pool.QueryRow(ctx,
		`SELECT default_policy, always_jids, never_jids FROM archive_prefs WHERE username = $1`,
		user.Bare().String()).Scan(&p.Default, &always, &never)
	if errors.Is(err, pgx.ErrNoRows) {
		return mam.Prefs{}, false, nil
	}
	if err != nil {
		return mam.Prefs{}, false, wrap(err)
	}
	if p.Always, err = archiveParseJIDs(always); err != nil {
		return mam.Prefs{}, false, wrap(err)
	}
	if p.Never, err = archiveParseJIDs(never); err != nil {
		return mam.Prefs{}, false, wrap(err)
	}
	return p, true, nil
}

func (a archive) SetPrefs(ctx context.Context, user jid.JID, p mam.Prefs) error {
	switch p.Default {
	case mam.Always, mam.Never, mam.Roster:
	default:
		return fmt.Errorf("storage/postgres: archive prefs: unknown default %q", p.Default)
	}
	return a.d.exec(ctx, `
		INSERT INTO archive_prefs (username, default_policy, always_jids, never_jids)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (username) DO UPDATE
		SET default_policy = excluded.default_policy,
			always_jids = excluded.always_jids,
			never_jids = excluded.never_jids`,
		user.Bare().String(), p.Default, archiveJIDStrings(p.Always), archiveJIDStrings(p.Never))
}

// archiveJIDStrings returns the JIDs' strings, never nil: the columns are NOT
// NULL.
func archiveJIDStrings(js []jid.JID) []string {
	out := make([]string, 0, len(js))
	for _, j := range js {
		out = append(out, j.String())
	}
	return out
}

// archiveParseJIDs parses stored JIDs; none is nil, as the store was given.
func archiveParseJIDs(ss []string) ([]jid.JID, error) {
	var out []jid.JID
	for _, s := range ss {
		j, err := jid.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("archive prefs JID %q: %w", s, err)
		}
		out = append(out, j)
	}
	return out, nil
}

func (a archive) DeleteUser(ctx context.Context, user jid.JID) error {
	u := user.Bare().String()
	return a.d.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM archive_message WHERE username = $1`, u); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM archive_prefs WHERE username = $1`, u)
		return err
	})
}
