// Package auth is who may use the console: local accounts with argon2id
// passwords and roles, server-side sessions, API tokens, the security event
// log and the sign-in throttle, all in Postgres so replicas agree.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters: OWASP ASVS v5 appendix C's minimum (m=19 MiB, t=2, p=1).
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// MinPasswordLength is the shortest password accepted (ASVS: at least 8; we ask 12).
const MinPasswordLength = 12

// MaxPasswordLength bounds the work a sign-in attempt can cause.
const MaxPasswordLength = 128

// ErrWeakPassword is a password too short or too long.
var ErrWeakPassword = fmt.Errorf("auth: a password must be %d to %d characters", MinPasswordLength, MaxPasswordLength)

// CheckPassword says whether a new password is acceptable.
func CheckPassword(p string) error {
	if n := len([]rune(p)); n < MinPasswordLength || len(p) > MaxPasswordLength {
		return ErrWeakPassword
	}
	return nil
}

// HashPassword returns the argon2id hash of p in PHC string form.
func HashPassword(p string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(p), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether p matches the PHC-form hash.
func VerifyPassword(p, hash string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("auth: not an argon2id hash")
	}
	var version int
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errors.New("auth: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil {
		return false, errors.New("auth: malformed argon2 parameters")
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, errors.New("auth: malformed salt")
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil {
		return false, errors.New("auth: malformed hash")
	}
	got := argon2.IDKey([]byte(p), salt, time, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is verified against when an account does not exist, so that a
// sign-in takes as long for an unknown name as for a wrong password. It has
// the parameters of HashPassword's hashes but is not the hash of anything:
// verifying costs the same, and computing one at start (19 MiB and up to a
// quarter of a second of CPU in every process) is not needed.
var dummyHash = fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
	base64.RawStdEncoding.EncodeToString(make([]byte, argonSaltLen)),
	base64.RawStdEncoding.EncodeToString(make([]byte, argonKeyLen)))
