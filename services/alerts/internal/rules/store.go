package rules

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Redis keys of the rules. They share the hash tag {rules}, so the scripts
// that change several of them at once also run on a Redis Cluster.
const (
	KeyRules    = "alerts:{rules}"         // hash: rule id -> rule JSON
	KeyVersion  = "alerts:{rules}:version" // counter bumped by every change
	ownerPrefix = "alerts:{rules}:owner:"  // set per owner: the ids of their rules
	// Channel announces each new version, so instances reload at once;
	// they also poll KeyVersion, since Pub/Sub keeps nothing.
	Channel = "alerts:{rules}:changed"
)

// Errors callers branch on.
var (
	// ErrNotFound: no rule with this id belongs to the owner. A rule of
	// another owner is not found either, so ids reveal nothing.
	ErrNotFound = errors.New("rules: no such rule")
	// ErrLimit: the owner holds as many rules as allowed.
	ErrLimit = errors.New("rules: rule limit reached")
)

// Store keeps rules in Redis. It is safe for concurrent use.
type Store struct {
	rdb redis.UniversalClient
}

// NewStore returns a Store on rdb.
func NewStore(rdb redis.UniversalClient) *Store { return &Store{rdb: rdb} }

func ownerKey(owner string) string { return ownerPrefix + owner }

// createScript adds a rule unless its owner holds the maximum or its id is
// taken. KEYS: rules, version, owner set; ARGV: id, JSON, max, channel.
// Returns the new version, -1 at the limit, -2 for a taken id.
var createScript = redis.NewScript(`
if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[3]) then return -1 end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return -2 end
redis.call('SADD', KEYS[3], ARGV[1])
local v = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[4], v)
return v
`)

// replaceScript overwrites a rule of the owner. KEYS: rules, version, owner
// set; ARGV: id, JSON, channel. Returns the new version, or -1 when the
// owner has no such rule.
var replaceScript = redis.NewScript(`
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 0 then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local v = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[3], v)
return v
`)

// deleteScript removes a rule of the owner. KEYS: rules, version, owner
// set; ARGV: id, channel. Returns the new version, or -1.
var deleteScript = redis.NewScript(`
if redis.call('SREM', KEYS[3], ARGV[1]) == 0 then return -1 end
redis.call('HDEL', KEYS[1], ARGV[1])
local v = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[2], v)
return v
`)

// Create stores a new rule unless its owner already holds max rules.
func (s *Store) Create(ctx context.Context, r Rule, max int) (int64, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return 0, fmt.Errorf("rules: encode %q: %w", r.ID, err)
	}
	v, err := createScript.Run(ctx, s.rdb, []string{KeyRules, KeyVersion, ownerKey(r.Owner)},
		r.ID, b, max, Channel).Int64()
	switch {
	case err != nil:
		return 0, fmt.Errorf("rules: create: %w", err)
	case v == -1:
		return 0, ErrLimit
	case v == -2:
		return 0, fmt.Errorf("rules: id %q is taken", r.ID)
	}
	return v, nil
}

// Replace overwrites a rule of r.Owner.
func (s *Store) Replace(ctx context.Context, r Rule) (int64, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return 0, fmt.Errorf("rules: encode %q: %w", r.ID, err)
	}
	v, err := replaceScript.Run(ctx, s.rdb, []string{KeyRules, KeyVersion, ownerKey(r.Owner)},
		r.ID, b, Channel).Int64()
	switch {
	case err != nil:
		return 0, fmt.Errorf("rules: replace: %w", err)
	case v == -1:
		return 0, ErrNotFound
	}
	return v, nil
}

// Delete removes a rule of owner.
func (s *Store) Delete(ctx context.Context, owner, id string) (int64, error) {
	v, err := deleteScript.Run(ctx, s.rdb, []string{KeyRules, KeyVersion, ownerKey(owner)}, id, Channel).Int64()
	switch {
	case err != nil:
		return 0, fmt.Errorf("rules: delete: %w", err)
	case v == -1:
		return 0, ErrNotFound
	}
	return v, nil
}

// Get returns a rule of owner.
func (s *Store) Get(ctx context.Context, owner, id string) (Rule, error) {
	b, err := s.rdb.HGet(ctx, KeyRules, id).Bytes()
	if errors.Is(err, redis.Nil) {
		return Rule{}, ErrNotFound
	}
	if err != nil {
		return Rule{}, fmt.Errorf("rules: get: %w", err)
	}
	var r Rule
	if err := json.Unmarshal(b, &r); err != nil {
		return Rule{}, fmt.Errorf("rules: stored rule %q: %w", id, err)
	}
	if r.Owner != owner {
		return Rule{}, ErrNotFound
	}
	return r, nil
}

// List returns the rules of owner, oldest first.
func (s *Store) List(ctx context.Context, owner string) ([]Rule, error) {
	ids, err := s.rdb.SMembers(ctx, ownerKey(owner)).Result()
	if err != nil {
		return nil, fmt.Errorf("rules: list: %w", err)
	}
	if len(ids) == 0 {
		return []Rule{}, nil
	}
	vals, err := s.rdb.HMGet(ctx, KeyRules, ids...).Result()
	if err != nil {
		return nil, fmt.Errorf("rules: list: %w", err)
	}
	out := make([]Rule, 0, len(vals))
	for i, v := range vals {
		text, ok := v.(string)
		if !ok {
			continue // deleted between the two reads
		}
		var r Rule
		if err := json.Unmarshal([]byte(text), &r); err != nil {
			return nil, fmt.Errorf("rules: stored rule %q: %w", ids[i], err)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Rule) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Version returns the current version of the rules; 0 before any change.
func (s *Store) Version(ctx context.Context) (int64, error) {
	v, err := s.rdb.Get(ctx, KeyVersion).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("rules: version: %w", err)
	}
	return v, nil
}

// Load reads every rule with the version they make up, in one transaction.
// A stored rule that does not decode is returned in bad, by id, with its
// error, so one broken entry never hides the others.
func (s *Store) Load(ctx context.Context) (all []Rule, version int64, bad map[string]error, err error) {
	var ver *redis.StringCmd
	var hash *redis.MapStringStringCmd
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		ver = p.Get(ctx, KeyVersion)
		hash = p.HGetAll(ctx, KeyRules)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, 0, nil, fmt.Errorf("rules: load: %w", err)
	}
	if text, err := ver.Result(); err == nil {
		if version, err = strconv.ParseInt(text, 10, 64); err != nil {
			return nil, 0, nil, fmt.Errorf("rules: version %q: %w", text, err)
		}
	}
	bad = map[string]error{}
	for id, text := range hash.Val() {
		var r Rule
		if err := json.Unmarshal([]byte(text), &r); err != nil {
			bad[id] = err
			continue
		}
		all = append(all, r)
	}
	return all, version, bad, nil
}
