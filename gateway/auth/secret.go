package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Password hashing: argon2id with OWASP's minimum parameters (19 MiB, two
// passes, one lane), stored as a PHC string.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16

	// MinPassword is the shortest password accepted.
	MinPassword = 10
	// MaxPassword bounds the work a sign-in costs.
	MaxPassword = 256
)

// HashPassword returns the argon2id PHC string of a password.
func HashPassword(password string) (string, error) {
	if len(password) < MinPassword || len(password) > MaxPassword {
		return "", fmt.Errorf("a password has %d to %d bytes", MinPassword, MaxPassword)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches the PHC hash. It runs in
// time independent of where a mismatch is.
func CheckPassword(hash, password string) bool {
	if len(password) > MaxPassword {
		return false
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<20 || t > 16 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when a user does not exist, so that a
// sign-in takes as long for an unknown name as for a wrong password.
var dummyHash, _ = HashPassword("not-a-real-password-0123456789")

// BurnPasswordCheck spends the time of one password check.
func BurnPasswordCheck(password string) { CheckPassword(dummyHash, password) }

// Prefixes of opaque secrets, so that a leaked one is recognisable (and
// secret scanners can find it).
const (
	APIKeyPrefix  = "wlk_"
	RefreshPrefix = "wlr_"
)

// NewSecret returns prefix + 32 random bytes in base64url.
func NewSecret(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// NewAPIKey returns a key id and the key: "wlk_<id>_<secret>". Only the
// key's SHA-256 is stored.
func NewAPIKey() (id, key string) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	id = base64.RawURLEncoding.EncodeToString(b)
	id = strings.NewReplacer("-", "x", "_", "y").Replace(id)
	return id, APIKeyPrefix + id + "_" + NewSecret("")
}

// HashSecret is the stored form of an opaque, high-entropy secret.
func HashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// ErrNoCredentials is returned when a request carries none.
var ErrNoCredentials = errors.New("no credentials")

// NewCode returns a 6-digit one-time code, uniformly distributed.
func NewCode() string {
	var b [4]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic(err)
		}
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		if v < 4_294_000_000 { // a multiple of 1,000,000: no modulo bias
			return fmt.Sprintf("%06d", v%1_000_000)
		}
	}
}
