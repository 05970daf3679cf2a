-- Ticket systems: the columns the constraints need, and the whole system
-- as JSON in data.
CREATE TABLE ticketing_systems (
	id         TEXT    NOT NULL PRIMARY KEY,
	position   INTEGER NOT NULL UNIQUE,
	name_key   TEXT    NOT NULL,
	active     BOOLEAN NOT NULL,
	is_default BOOLEAN NOT NULL,
	version    BIGINT  NOT NULL,
	data       TEXT    NOT NULL
);
-- At most one default, and active names unique (case-insensitive): the
-- Registry's rules, held by the database as well.
CREATE UNIQUE INDEX ticketing_systems_one_default ON ticketing_systems (is_default) WHERE is_default;
CREATE UNIQUE INDEX ticketing_systems_active_name ON ticketing_systems (name_key) WHERE active;

CREATE TABLE ticketing_audit (
	seq            BIGINT  NOT NULL PRIMARY KEY,
	time_us        BIGINT  NOT NULL,
	action         TEXT    NOT NULL,
	secret_id      TEXT    NOT NULL,
	secret_name    TEXT    NOT NULL,
	user_name      TEXT    NOT NULL,
	system_id      TEXT    NOT NULL,
	system_name    TEXT    NOT NULL,
	ticket_number  TEXT    COLLATE "C" NOT NULL,
	reason         TEXT    NOT NULL,
	url            TEXT    NOT NULL,
	outcome        TEXT    NOT NULL,
	denial_code    TEXT    NOT NULL,
	denial_message TEXT    NOT NULL,
	live_check     TEXT    NOT NULL,
	from_cache     BOOLEAN NOT NULL,
	ticket_status  TEXT    NOT NULL,
	comment        TEXT    NOT NULL,
	comment_detail TEXT    NOT NULL,
	correlation_id TEXT    NOT NULL,
	prev_hash      TEXT    NOT NULL,
	hash           TEXT    NOT NULL,
	-- A random key per append, so that an append whose commit went
	-- unanswered can be found (or retried) without writing it twice.
	append_key     TEXT    NOT NULL UNIQUE
);
CREATE INDEX ticketing_audit_ticket ON ticketing_audit (ticket_number, seq);
CREATE INDEX ticketing_audit_secret ON ticketing_audit (secret_id, seq);
CREATE INDEX ticketing_audit_user   ON ticketing_audit (user_name, seq);
CREATE INDEX ticketing_audit_system ON ticketing_audit (system_id, seq);
CREATE INDEX ticketing_audit_time   ON ticketing_audit (time_us);

-- One row per writer lock: a transaction that changes systems, or appends
-- to the audit trail, first locks its row (SELECT ... FOR UPDATE), so
-- writers in every process take turns.
CREATE TABLE ticketing_locks (name TEXT NOT NULL PRIMARY KEY);
INSERT INTO ticketing_locks (name) VALUES ('systems'), ('audit');
