// Package store is the gateway's own database, a SQLite file beside (never
// inside) the ledger: users and their password hashes, API keys, refresh
// tokens, idempotency records, sign-by-code codes, and the custodial keys
// the gateway holds for organisations that sign by code, sealed under a
// secret kept in the data directory.
//
// One writer connection and a pool of readers, WAL, migrations as embedded
// numbered .sql files with PRAGMA user_version. Errors are *manifest.Error
// (NotFound, Conflict, Unavailable …) so the HTTP layer maps them alone.
package store

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	migratepkg "wasteledger/internal/migrate"

	_ "github.com/mattn/go-sqlite3"

	"wasteledger/manifest"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Store is an open gateway database. Safe for concurrent use.
type Store struct {
	w, r   *sql.DB
	secret []byte // 32 bytes: AES-256-GCM sealing and code MACs
	aead   cipher.AEAD

	custodial custodialCache

	// PutIdempotent's records, written by recordResponses: the records of
	// concurrent requests share one transaction.
	puts      chan idemPut
	stop      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
}

// custodialCache remembers Custodial's answers (the driver app asks for
// every scan and template) until PutCustodial or RevokeCustodial changes
// custodial keys: only this Store writes them. gen counts those changes,
// so that an answer read before a change is not remembered after it.
type custodialCache struct {
	mu  sync.Mutex
	gen uint64
	m   map[string]custodialAnswer
}

type custodialAnswer struct {
	k   CustodialKey
	err error
}

func (c *custodialCache) get(org string) (custodialAnswer, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.m[org]
	return a, c.gen, ok
}

func (c *custodialCache) put(org string, gen uint64, a custodialAnswer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.m == nil || len(c.m) >= 10000 {
		c.m = make(map[string]custodialAnswer)
	}
	c.m[org] = a
}

func (c *custodialCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.m = nil
}

// Config says where the files are.
type Config struct {
	Path       string // the SQLite file, e.g. data/gateway.db
	SecretPath string // 32 random bytes, mode 0600; created when missing. Default: Path + ".secret"
}

// Open opens (creating when missing) the database and its secret, and
// applies pending migrations.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.SecretPath == "" {
		cfg.SecretPath = cfg.Path + ".secret"
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o750); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	secret, err := loadSecret(cfg.SecretPath)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	block, err := aes.NewCipher(secret)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(cfg.Path)
	w, err := sql.Open("sqlite3", "file:"+esc+"?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_synchronous=NORMAL&_txlock=immediate&_stmt_cache_size=32")
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: %s: %w", cfg.Path, err)
	}
	r, err := sql.Open("sqlite3", "file:"+esc+"?_busy_timeout=10000&_foreign_keys=on&_query_only=true&_stmt_cache_size=32")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	if err := os.Chmod(cfg.Path, 0o600); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	s := &Store{w: w, r: r, secret: secret, aead: aead, puts: make(chan idemPut), stop: make(chan struct{}), stopped: make(chan struct{})}
	go s.recordResponses()
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.stop) })
	<-s.stopped
	return errors.Join(s.r.Close(), s.w.Close())
}

func loadSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		b = make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		if _, err := f.Write(b); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, err
		}
		return b, f.Close()
	}
	if err != nil {
		return nil, err
	}
	if len(b) != 32 {
		return nil, fmt.Errorf("secret %s must hold 32 bytes, holds %d", path, len(b))
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secret %s is readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	return b, nil
}

// migrate brings the schema up to date (internal/migrate).
func migrate(ctx context.Context, db *sql.DB) error {
	return migratepkg.Apply(ctx, db, migrationFiles, "migrations")
}

// --- helpers -----------------------------------------------------------------

const timeLayout = time.RFC3339Nano

func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTS(s string) time.Time {
	t, _ := time.Parse(timeLayout, s)
	return t
}

func unavailable(op string, err error) error {
	return manifest.Errorf(manifest.Unavailable, "store: %s: %w", op, err)
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// MAC is HMAC-SHA256 under the data directory's secret.
func (s *Store) MAC(parts ...string) []byte {
	h := hmac.New(sha256.New, s.secret)
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// Seal encrypts plaintext bound to aad (AES-256-GCM, random nonce first).
func (s *Store) Seal(plaintext, aad []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return s.aead.Seal(nonce, nonce, plaintext, aad)
}

// Unseal decrypts what Seal made with the same aad.
func (s *Store) Unseal(sealed, aad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed data too short")
	}
	return s.aead.Open(nil, sealed[:n], sealed[n:], aad)
}

// --- meta --------------------------------------------------------------------

// Meta returns a meta value, or a NotFound error.
func (s *Store) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", manifest.Errorf(manifest.NotFound, "meta %s not set", key)
	}
	if err != nil {
		return "", unavailable("meta", err)
	}
	return v, nil
}

// SetMeta sets a meta value.
func (s *Store) SetMeta(ctx context.Context, key, value string) error {
	if _, err := s.w.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", key, value); err != nil {
		return unavailable("set meta", err)
	}
	return nil
}

// --- users -------------------------------------------------------------------

// User is a person who signs in with a password.
type User struct {
	Username string    `json:"username"`
	Org      string    `json:"org"`
	MSP      string    `json:"msp"`
	Role     string    `json:"role"`
	Hash     string    `json:"-"`
	Disabled bool      `json:"disabled"`
	Created  time.Time `json:"created"`
}

// CreateUser adds a user; Conflict when the username is taken.
func (s *Store) CreateUser(ctx context.Context, u User) error {
	_, err := s.w.ExecContext(ctx, "INSERT INTO users (username, org, msp, role, hash, disabled, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
		u.Username, u.Org, u.MSP, u.Role, u.Hash, u.Disabled, ts(u.Created))
	if isUnique(err) || (err != nil && strings.Contains(err.Error(), "PRIMARY KEY")) {
		return manifest.FieldError(manifest.Conflict, "username", "user %s already exists", u.Username)
	}
	if err != nil {
		return unavailable("create user", err)
	}
	return nil
}

const userCols = "username, org, msp, role, hash, disabled, created"

func scanUser(sc interface{ Scan(...any) error }) (User, error) {
	var u User
	var created string
	err := sc.Scan(&u.Username, &u.Org, &u.MSP, &u.Role, &u.Hash, &u.Disabled, &created)
	u.Created = parseTS(created)
	return u, err
}

// User returns a user by name, or NotFound.
func (s *Store) User(ctx context.Context, username string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE username = ?", username))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, manifest.Errorf(manifest.NotFound, "user %s not found", username)
	}
	if err != nil {
		return User{}, unavailable("user", err)
	}
	return u, nil
}

// Users lists the users of an organisation by name.
func (s *Store) Users(ctx context.Context, org string) ([]User, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+userCols+" FROM users WHERE org = ? ORDER BY username", org)
	if err != nil {
		return nil, unavailable("users", err)
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, unavailable("users", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CountUsers counts every user.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n); err != nil {
		return 0, unavailable("count users", err)
	}
	return n, nil
}

// SetUserDisabled disables or re-enables a user of org; NotFound otherwise.
// Disabling also revokes the user's refresh tokens.
func (s *Store) SetUserDisabled(ctx context.Context, org, username string, disabled bool) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return unavailable("disable user", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "UPDATE users SET disabled = ? WHERE username = ? AND org = ?", disabled, username, org)
	if err != nil {
		return unavailable("disable user", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return manifest.Errorf(manifest.NotFound, "user %s not found in %s", username, org)
	}
	if disabled {
		if _, err := tx.ExecContext(ctx, "UPDATE refresh_tokens SET revoked = 1 WHERE username = ?", username); err != nil {
			return unavailable("disable user", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return unavailable("disable user", err)
	}
	return nil
}

// SetPassword replaces a user's password hash.
func (s *Store) SetPassword(ctx context.Context, username, hash string) error {
	res, err := s.w.ExecContext(ctx, "UPDATE users SET hash = ? WHERE username = ?", hash, username)
	if err != nil {
		return unavailable("set password", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return manifest.Errorf(manifest.NotFound, "user %s not found", username)
	}
	return nil
}

// --- API keys ----------------------------------------------------------------

// APIKey is a machine client's key, bound to an organisation and a role.
type APIKey struct {
	ID      string     `json:"id"`
	Hash    []byte     `json:"-"`
	Name    string     `json:"name"`
	Org     string     `json:"org"`
	MSP     string     `json:"msp"`
	Role    string     `json:"role"`
	Created time.Time  `json:"created"`
	Revoked *time.Time `json:"revoked,omitempty"`
}

// CreateAPIKey stores a key.
func (s *Store) CreateAPIKey(ctx context.Context, k APIKey) error {
	_, err := s.w.ExecContext(ctx, "INSERT INTO api_keys (id, hash, name, org, msp, role, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
		k.ID, k.Hash, k.Name, k.Org, k.MSP, k.Role, ts(k.Created))
	if err != nil {
		if isUnique(err) {
			return manifest.Errorf(manifest.Conflict, "api key %s already exists", k.ID)
		}
		return unavailable("create api key", err)
	}
	return nil
}

const apiKeyCols = "id, hash, name, org, msp, role, created, revoked"

func scanAPIKey(sc interface{ Scan(...any) error }) (APIKey, error) {
	var k APIKey
	var created string
	var revoked sql.NullString
	err := sc.Scan(&k.ID, &k.Hash, &k.Name, &k.Org, &k.MSP, &k.Role, &created, &revoked)
	k.Created = parseTS(created)
	if revoked.Valid {
		t := parseTS(revoked.String)
		k.Revoked = &t
	}
	return k, err
}

// APIKeyByHash finds a key by the SHA-256 of its secret, revoked or not.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (APIKey, error) {
	k, err := scanAPIKey(s.r.QueryRowContext(ctx, "SELECT "+apiKeyCols+" FROM api_keys WHERE hash = ?", hash))
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, manifest.Errorf(manifest.NotFound, "no such api key")
	}
	if err != nil {
		return APIKey{}, unavailable("api key", err)
	}
	return k, nil
}

// APIKeys lists an organisation's keys, newest first.
func (s *Store) APIKeys(ctx context.Context, org string) ([]APIKey, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+apiKeyCols+" FROM api_keys WHERE org = ? ORDER BY created DESC", org)
	if err != nil {
		return nil, unavailable("api keys", err)
	}
	defer rows.Close()
	out := []APIKey{}
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, unavailable("api keys", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey revokes a key of org: NotFound if it has no such key,
// Conflict if already revoked.
func (s *Store) RevokeAPIKey(ctx context.Context, org, id string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, "UPDATE api_keys SET revoked = ? WHERE id = ? AND org = ? AND revoked IS NULL", ts(at), id, org)
	if err != nil {
		return unavailable("revoke api key", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var one int
		if err := s.r.QueryRowContext(ctx, "SELECT 1 FROM api_keys WHERE id = ? AND org = ?", id, org).Scan(&one); err == nil {
			return manifest.Errorf(manifest.Conflict, "api key %s is already revoked", id)
		}
		return manifest.Errorf(manifest.NotFound, "api key %s not found", id)
	}
	return nil
}

// --- refresh tokens ------------------------------------------------------------

// Refresh is a stored refresh token.
type Refresh struct {
	Hash     []byte
	Family   string
	Username string
	Expires  time.Time
}

// CreateRefresh stores a refresh token.
func (s *Store) CreateRefresh(ctx context.Context, r Refresh) error {
	if _, err := s.w.ExecContext(ctx, "INSERT INTO refresh_tokens (hash, family, username, expires) VALUES (?, ?, ?, ?)",
		r.Hash, r.Family, r.Username, ts(r.Expires)); err != nil {
		return unavailable("create refresh token", err)
	}
	return nil
}

// ErrRefreshReused is returned (as an Unauthenticated error) when a refresh
// token that was already used is presented again: its family is revoked.
var ErrRefreshReused = errors.New("refresh token already used; every token of its session is revoked")

// UseRefresh consumes a refresh token and stores its successor in the same
// transaction. It fails with Unauthenticated when the token is unknown,
// expired or revoked; presenting a used token revokes its family.
func (s *Store) UseRefresh(ctx context.Context, hash []byte, now time.Time, next Refresh) (Refresh, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return Refresh{}, unavailable("refresh", err)
	}
	defer tx.Rollback()
	var r Refresh
	var expires string
	var used, revoked bool
	err = tx.QueryRowContext(ctx, "SELECT hash, family, username, expires, used, revoked FROM refresh_tokens WHERE hash = ?", hash).
		Scan(&r.Hash, &r.Family, &r.Username, &expires, &used, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return Refresh{}, manifest.Errorf(manifest.Unauthenticated, "unknown refresh token")
	}
	if err != nil {
		return Refresh{}, unavailable("refresh", err)
	}
	r.Expires = parseTS(expires)
	switch {
	case revoked:
		return Refresh{}, manifest.Errorf(manifest.Unauthenticated, "refresh token revoked")
	case used:
		if _, err := tx.ExecContext(ctx, "UPDATE refresh_tokens SET revoked = 1 WHERE family = ?", r.Family); err != nil {
			return Refresh{}, unavailable("refresh", err)
		}
		if err := tx.Commit(); err != nil {
			return Refresh{}, unavailable("refresh", err)
		}
		return Refresh{}, manifest.Errorf(manifest.Unauthenticated, "%w", ErrRefreshReused)
	case !now.Before(r.Expires):
		return Refresh{}, manifest.Errorf(manifest.Unauthenticated, "refresh token expired")
	}
	if _, err := tx.ExecContext(ctx, "UPDATE refresh_tokens SET used = 1 WHERE hash = ?", hash); err != nil {
		return Refresh{}, unavailable("refresh", err)
	}
	next.Family, next.Username = r.Family, r.Username
	if _, err := tx.ExecContext(ctx, "INSERT INTO refresh_tokens (hash, family, username, expires) VALUES (?, ?, ?, ?)",
		next.Hash, next.Family, next.Username, ts(next.Expires)); err != nil {
		return Refresh{}, unavailable("refresh", err)
	}
	if err := tx.Commit(); err != nil {
		return Refresh{}, unavailable("refresh", err)
	}
	return r, nil
}

// --- idempotency -------------------------------------------------------------

// Response is a recorded write response.
type Response struct {
	Actor       string
	Key         string
	RequestHash []byte
	Status      int
	ContentType string
	Location    string
	Body        []byte
	Created     time.Time
}

// Idempotent returns the recorded response for (actor, key), or NotFound.
func (s *Store) Idempotent(ctx context.Context, actor, key string) (Response, error) {
	r := Response{Actor: actor, Key: key}
	var created string
	err := s.r.QueryRowContext(ctx, "SELECT request_hash, status, content_type, location, body, created FROM idempotency WHERE actor = ? AND key = ?", actor, key).
		Scan(&r.RequestHash, &r.Status, &r.ContentType, &r.Location, &r.Body, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Response{}, manifest.Errorf(manifest.NotFound, "no response recorded")
	}
	if err != nil {
		return Response{}, unavailable("idempotency", err)
	}
	r.Created = parseTS(created)
	return r, nil
}

// PutIdempotent records a response; the first record for a key wins. It
// returns once the record is committed. Records of concurrent calls are
// committed together (group commit): one transaction, one WAL commit.
func (s *Store) PutIdempotent(ctx context.Context, r Response) error {
	p := idemPut{r: r, done: make(chan error, 1)}
	select {
	case s.puts <- p:
	case <-s.stop:
		return unavailable("record response", errors.New("the store is closed"))
	case <-ctx.Done():
		return unavailable("record response", ctx.Err())
	}
	return <-p.done
}

const insertIdempotent = "INSERT INTO idempotency (actor, key, request_hash, status, content_type, location, body, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"

type idemPut struct {
	r    Response
	done chan error
}

// maxGroup bounds the records one transaction commits.
const maxGroup = 128

// recordResponses writes PutIdempotent's records until Close: whatever
// is waiting when the previous transaction committed goes into the next.
func (s *Store) recordResponses() {
	defer close(s.stopped)
	for {
		var group []idemPut
		select {
		case p := <-s.puts:
			group = append(group, p)
		case <-s.stop:
			return
		}
	more:
		for len(group) < maxGroup {
			select {
			case p := <-s.puts:
				group = append(group, p)
			default:
				break more
			}
		}
		if err := s.putGroup(group); err != nil && len(group) == 1 {
			group[0].done <- unavailable("record response", err)
			continue
		} else if err != nil {
			// Then one by one, so that each gets its own answer.
			for _, p := range group {
				r := p.r
				_, err := s.w.ExecContext(context.Background(), insertIdempotent, r.insertArgs()...)
				if err != nil {
					err = unavailable("record response", err)
				}
				p.done <- err
			}
			continue
		}
		for _, p := range group {
			p.done <- nil
		}
	}
}

// insertArgs are insertIdempotent's arguments for r.
func (r Response) insertArgs() []any {
	return []any{r.Actor, r.Key, r.RequestHash, r.Status, r.ContentType, r.Location, r.Body, ts(r.Created)}
}

func (s *Store) putGroup(group []idemPut) error {
	if len(group) == 1 {
		r := group[0].r
		_, err := s.w.ExecContext(context.Background(), insertIdempotent, r.insertArgs()...)
		return err
	}
	tx, err := s.w.BeginTx(context.Background(), nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, p := range group {
		r := p.r
		if _, err := tx.Exec(insertIdempotent, r.insertArgs()...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// PurgeIdempotent deletes records created before t, and expired codes and
// refresh tokens.
func (s *Store) PurgeIdempotent(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, "DELETE FROM idempotency WHERE created < ?", ts(before))
	if err != nil {
		return 0, unavailable("purge", err)
	}
	n, _ := res.RowsAffected()
	if _, err := s.w.ExecContext(ctx, "DELETE FROM sign_codes WHERE expires < ?", ts(before)); err != nil {
		return n, unavailable("purge", err)
	}
	if _, err := s.w.ExecContext(ctx, "DELETE FROM refresh_tokens WHERE expires < ?", ts(before)); err != nil {
		return n, unavailable("purge", err)
	}
	return n, nil
}

// --- sign-by-code codes --------------------------------------------------------

// Code is a one-time sign-by-code code.
type Code struct {
	ID        int64
	Manifest  string
	Step      string
	Org       string
	MAC       []byte
	Expires   time.Time
	Attempts  int
	Used      bool
	Created   time.Time
	CreatedBy string
}

// CreateCode stores a code and returns its id. Codes issued earlier for the
// same manifest and step that are still unused are burnt: only the newest
// code works.
func (s *Store) CreateCode(ctx context.Context, c Code) (int64, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, unavailable("create code", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "UPDATE sign_codes SET used = 1 WHERE manifest = ? AND step = ? AND used = 0", c.Manifest, c.Step); err != nil {
		return 0, unavailable("create code", err)
	}
	res, err := tx.ExecContext(ctx, "INSERT INTO sign_codes (manifest, step, org, mac, expires, created, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
		c.Manifest, c.Step, c.Org, c.MAC, ts(c.Expires), ts(c.Created), c.CreatedBy)
	if err != nil {
		return 0, unavailable("create code", err)
	}
	id, _ := res.LastInsertId()
	if err := tx.Commit(); err != nil {
		return 0, unavailable("create code", err)
	}
	return id, nil
}

// ActiveCode returns the live code for a manifest and step: unused, not
// expired at now, fewer than maxAttempts wrong guesses. NotFound otherwise.
func (s *Store) ActiveCode(ctx context.Context, manifestID, step string, now time.Time, maxAttempts int) (Code, error) {
	var c Code
	var expires, created string
	err := s.r.QueryRowContext(ctx, `SELECT id, manifest, step, org, mac, expires, attempts, used, created, created_by FROM sign_codes
		WHERE manifest = ? AND step = ? AND used = 0 AND attempts < ? AND expires > ? ORDER BY id DESC LIMIT 1`,
		manifestID, step, maxAttempts, ts(now)).
		Scan(&c.ID, &c.Manifest, &c.Step, &c.Org, &c.MAC, &expires, &c.Attempts, &c.Used, &created, &c.CreatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return Code{}, manifest.Errorf(manifest.NotFound, "no valid sign code for %s %s", manifestID, step)
	}
	if err != nil {
		return Code{}, unavailable("code", err)
	}
	c.Expires, c.Created = parseTS(expires), parseTS(created)
	return c, nil
}

// FailCode counts a wrong guess and returns the attempts made so far.
func (s *Store) FailCode(ctx context.Context, id int64) (int, error) {
	var n int
	err := s.w.QueryRowContext(ctx, "UPDATE sign_codes SET attempts = attempts + 1 WHERE id = ? RETURNING attempts", id).Scan(&n)
	if err != nil {
		return 0, unavailable("code attempt", err)
	}
	return n, nil
}

// UseCode marks a code used; it reports false if it was used already (a
// concurrent guess won).
func (s *Store) UseCode(ctx context.Context, id int64) (bool, error) {
	res, err := s.w.ExecContext(ctx, "UPDATE sign_codes SET used = 1 WHERE id = ? AND used = 0", id)
	if err != nil {
		return false, unavailable("use code", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// --- custodial keys ----------------------------------------------------------

// CustodialKey is a private key the gateway holds for an organisation.
type CustodialKey struct {
	KID     string
	Org     string
	Sealed  []byte // Seal(private JWK, aad = "custodial|" + KID + "|" + Org)
	Created time.Time
	Revoked *time.Time
}

// CustodialAAD is the additional data a custodial key is sealed with.
func CustodialAAD(kid, org string) []byte { return []byte("custodial|" + kid + "|" + org) }

// PutCustodial stores a custodial key.
func (s *Store) PutCustodial(ctx context.Context, k CustodialKey) error {
	defer s.custodial.forget()
	if _, err := s.w.ExecContext(ctx, "INSERT INTO custodial_keys (kid, org, sealed, created) VALUES (?, ?, ?, ?)", k.KID, k.Org, k.Sealed, ts(k.Created)); err != nil {
		return unavailable("store custodial key", err)
	}
	return nil
}

// Custodial returns the organisation's newest unrevoked custodial key, or
// NotFound.
func (s *Store) Custodial(ctx context.Context, org string) (CustodialKey, error) {
	a, gen, ok := s.custodial.get(org)
	if ok {
		if a.k.Sealed != nil {
			a.k.Sealed = bytes.Clone(a.k.Sealed)
		}
		return a.k, a.err
	}
	k, err := s.readCustodial(ctx, org)
	if err == nil || manifest.CodeOf(err) == manifest.NotFound {
		a = custodialAnswer{k: k, err: err}
		if k.Sealed != nil {
			a.k.Sealed = bytes.Clone(k.Sealed)
		}
		s.custodial.put(org, gen, a)
	}
	return k, err
}

func (s *Store) readCustodial(ctx context.Context, org string) (CustodialKey, error) {
	var k CustodialKey
	var created string
	err := s.r.QueryRowContext(ctx, "SELECT kid, org, sealed, created FROM custodial_keys WHERE org = ? AND revoked IS NULL ORDER BY created DESC LIMIT 1", org).
		Scan(&k.KID, &k.Org, &k.Sealed, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return CustodialKey{}, manifest.Errorf(manifest.NotFound, "organisation %s has no custodial key", org)
	}
	if err != nil {
		return CustodialKey{}, unavailable("custodial key", err)
	}
	k.Created = parseTS(created)
	return k, nil
}

// RevokeCustodial marks a custodial key revoked (after the ledger revoked it).
func (s *Store) RevokeCustodial(ctx context.Context, kid string, at time.Time) error {
	defer s.custodial.forget()
	if _, err := s.w.ExecContext(ctx, "UPDATE custodial_keys SET revoked = ? WHERE kid = ? AND revoked IS NULL", ts(at), kid); err != nil {
		return unavailable("revoke custodial key", err)
	}
	return nil
}
