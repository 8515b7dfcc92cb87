// Package embedded is Meridian's default persistent store: one bbolt file
// (go.etcd.io/bbolt, pure Go, copy-on-write B+tree, every write transaction
// fsync'ed before it returns) holding accounts, rosters, pending inbound
// subscriptions, last activity, offline messages, per-user data (vCards,
// private XML, blocklists), PEP nodes and items, and message archives. It
// registers itself as the storage backend "embedded". It owns the file
// layout and the record encoding; it must not hold business logic (what a
// roster push or a subscription state change means belongs to the
// modules).
//
// # Concurrency and locking
//
// A *DB is safe for concurrent use. bbolt runs any number of read
// transactions alongside one write transaction; writes are serialised by
// bbolt and no lock of our own is taken. The file is locked with flock(2):
// a second opener, in this process or another, gives up after lockTimeout
// with ErrLocked instead of waiting forever. The kernel drops the lock when
// its holder dies, so a crashed node restarts without manual cleanup.
//
// Archive appends, one per message routed, go through a group commit
// (commit.go): concurrent appends share one transaction and one fsync,
// and each returns once that transaction is on disk.
//
// # Layout
//
// Buckets and keys; "\x00" separates key parts, which is safe because no
// prepared JID part or domain can contain NUL (RFC 7622 §3.3.1, §3.2).
// Keys sort bytewise, which is Go's string order:
//
//	meta       "schema"                    uvarint schema version (schemaVersion)
//	accounts   domain \x00 username        account record
//	roster     user \x00 contact           roster item record
//	rosterver  user                        roster version record
//	pending    user \x00 from              pending subscription record
//	last       user                        last activity record
//	offline    user \x00 seq               offline message: the stanza, raw
//	userdata   user \x00 key               user data record
//	pubsub_nodes    owner \x00 node           PEP node record
//	pubsub_items    owner \x00 node \x00 seq  PEP item record
//	pubsub_itemids  owner \x00 node \x00 id   seq of the item with that ID
//	archive    user                        a bucket: the user's archive, below
//	archiveprefs user                      archive preferences record
//
// seq is the 8-byte big-endian sequence number of the bucket, so a
// node's items scan in publication order and the newest are at the end;
// republishing an ID moves its item to a new seq. Node names and item
// IDs cannot contain NUL (XML forbids it).
//
// user, contact and from are bare JIDs as jid.JID.String() writes them;
// sequence is the bucket's sequence number, 8 bytes big-endian; key is a
// userdata key (no NUL, core/userdata.CheckKey). So
// ListAccounts is a prefix scan of "domain\x00" that comes out in username
// order, and Items a prefix scan of "user\x00" that comes out in contact
// JID order.
//
// # Record encoding
//
// Every value starts with a record version byte (1 today); a reader
// refuses versions it does not know rather than guess. The rest is a
// fixed sequence of fields: unsigned integers as uvarints, signed ones as
// zig-zag varints (encoding/binary), byte strings and strings as a uvarint
// length followed by the bytes, times as varint Unix seconds plus uvarint
// nanoseconds (read back in UTC). Parts of the key are not repeated in the
// value. Version 1 records:
//
//	account   created, SHA-1 credentials, SHA-256 credentials
//	          (credentials: salt, iterations, stored key, server key)
//	item      name, subscription (0 none, 1 to, 2 from, 3 both),
//	          flags (bit 0 ask, bit 1 pre-approved), group count, groups
//	rosterver version
//	pending   the subscribe stanza, raw, to the end of the value
//	last      time, status
//	userdata  the module's bytes, raw, to the end of the value
//	pubsub node  access model, roster group count, groups, flags
//	          (bit 0 persist items, 1 deliver notifications, 2 deliver
//	          payloads, 3 notify config, 4 notify delete, 5 notify
//	          retract), max items (-1: 'max'), send last published item,
//	          notification type, title, description, type
//	pubsub item  ID, published time, payload XML
//	archived  with (the JID as written), the stanza, raw, to the end
//	prefs     default (0 always, 1 never, 2 roster), always count, JIDs,
//	          never count, JIDs
//
// Inside a user's archive bucket, id being the 16-byte mam.ID (time
// first, so keys sort by time) and with a bare JID:
//
//	'm' id                archived record
//	'w' with \x00 id      the resource of with, raw (the index for 'with')
//	'w' with \x01         uvarint: messages with that bare JID
//
// and the bucket's sequence is the number of messages in the archive.
//
// A binary layout rather than JSON keeps a record a few dozen bytes and
// a decode free of reflection; a new field means a new record version, and
// decoders keep reading the old ones.
//
// The schema version in meta covers the layout (buckets and keys). A file
// written by a newer Meridian, with a higher schema version, is refused
// at Open rather than misread.
package embedded
