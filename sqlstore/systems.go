package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ticketgate/ticketing"
)

// GetSystem implements ticketing.SystemStore.
func (s *Store) GetSystem(ctx context.Context, id string) (ticketing.TicketSystem, error) {
	var data string
	err := s.read(ctx, func() error {
		return s.db.QueryRowContext(ctx, s.rebind("SELECT data FROM ticketing_systems WHERE id = ?"), id).Scan(&data)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return ticketing.TicketSystem{}, fmt.Errorf("%w: %s", ticketing.ErrNotFound, strconv.QuoteToASCII(id))
	}
	if err != nil {
		return ticketing.TicketSystem{}, err
	}
	return decodeSystem(data)
}

// ListSystems implements ticketing.SystemStore.
func (s *Store) ListSystems(ctx context.Context) ([]ticketing.TicketSystem, error) {
	var out []ticketing.TicketSystem
	err := s.read(ctx, func() error {
		var err error
		out, err = listSystems(ctx, s.db)
		return err
	})
	return out, err
}

func listSystems(ctx context.Context, q querier) ([]ticketing.TicketSystem, error) {
	rows, err := q.QueryContext(ctx, "SELECT data FROM ticketing_systems ORDER BY position")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ticketing.TicketSystem{}
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		sys, err := decodeSystem(data)
		if err != nil {
			return nil, err
		}
		out = append(out, sys)
	}
	return out, rows.Err()
}

// UpdateSystems implements ticketing.SystemStore: one transaction under the
// "systems" writer lock. The changed systems are written in the order fn
// returns them (the Registry clears an old default before it sets a new
// one, as the one-default index requires).
func (s *Store) UpdateSystems(ctx context.Context, fn func([]ticketing.TicketSystem) ([]ticketing.TicketSystem, error)) error {
	var fnErr error
	err := s.inTx(ctx, lockSystems, func(ctx context.Context, q querier) error {
		current, err := listSystems(ctx, q)
		if err != nil {
			return err
		}
		changed, err := fn(current)
		if err != nil {
			fnErr = err
			return err
		}
		for _, sys := range changed {
			if sys.ID == "" {
				return fmt.Errorf("%w: a stored system needs an ID", ticketing.ErrInvalidSystem)
			}
		}
		for _, sys := range changed {
			if err := s.upsertSystem(ctx, q, sys); err != nil {
				return err
			}
		}
		return nil
	})
	if fnErr != nil && errors.Is(err, fnErr) {
		return fnErr
	}
	return err
}

func (s *Store) upsertSystem(ctx context.Context, q querier, sys ticketing.TicketSystem) error {
	data, err := json.Marshal(sys)
	if err != nil {
		return fmt.Errorf("sqlstore: encoding system: %w", err)
	}
	_, err = q.ExecContext(ctx, s.rebind(`INSERT INTO ticketing_systems (id, position, name_key, active, is_default, version, data)
		VALUES (?, (SELECT COALESCE(MAX(position), 0) + 1 FROM ticketing_systems), ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name_key = excluded.name_key, active = excluded.active,
			is_default = excluded.is_default, version = excluded.version, data = excluded.data`),
		sys.ID, nameKey(sys.Name), sys.Active, sys.Active && sys.Default, sys.Version, string(data))
	if err != nil {
		return constraintError(err)
	}
	return nil
}

// nameKey is the form active names are unique in: trimmed and case-folded
// (as the Registry compares them).
func nameKey(name string) string {
	return strings.ToLower(strings.ToUpper(strings.TrimSpace(name)))
}

// constraintError names the Registry rule a unique index refused: the
// database backing up the Registry when two processes raced.
func constraintError(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "ticketing_systems_active_name") || strings.Contains(msg, "ticketing_systems.name_key"):
		return fmt.Errorf("%w (refused by the database): %w", ticketing.ErrDuplicateName, err)
	case strings.Contains(msg, "ticketing_systems_one_default") || strings.Contains(msg, "ticketing_systems.is_default"):
		return fmt.Errorf("%w: a second default (refused by the database): %w", ticketing.ErrInvalidSystem, err)
	}
	return err
}

func decodeSystem(data string) (ticketing.TicketSystem, error) {
	var sys ticketing.TicketSystem
	if err := json.Unmarshal([]byte(data), &sys); err != nil {
		return sys, fmt.Errorf("sqlstore: stored system is not valid JSON: %w", err)
	}
	return sys, nil
}

// read runs a read, retrying while SQLite reports a busy database.
func (s *Store) read(ctx context.Context, f func() error) error {
	var err error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if err = f(); err == nil || !s.retryable(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
	}
	return err
}
