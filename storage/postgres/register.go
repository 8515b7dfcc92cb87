package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/meridian-xmpp/meridian/storage"
)

func init() { storage.Register("postgres", opener) }

// connectTimeout bounds Open's first connection and schema creation.
const connectTimeout = 30 * time.Second

// opener is the storage.Opener. Options:
//
//	dsn        string  libpq connection string or URL (required)
//	schema     string  schema of the tables, created when missing
//	max_conns  int     pool size (0: the driver's default)
//
// Any other option is an error naming it: config is strict.
func opener(_ string, options map[string]any) (*storage.Stores, error) {
	var o Options
	for k, v := range options {
		switch k {
		case "dsn", "schema":
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("storage/postgres: option %s: want a string, have %T", k, v)
			}
			if k == "dsn" {
				o.DSN = s
			} else {
				o.Schema = s
			}
		case "max_conns":
			n, ok := v.(int)
			if !ok || n < 0 || n > 10000 {
				return nil, fmt.Errorf("storage/postgres: option max_conns: want an integer 0..10000, have %v", v)
			}
			o.MaxConns = int32(n)
		default:
			return nil, fmt.Errorf("storage/postgres: unknown option %q", k)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	db, err := Open(ctx, o)
	if err != nil {
		return nil, err
	}
	return db.Stores(), nil
}
