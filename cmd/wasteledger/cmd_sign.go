package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"wasteledger/manifest"
	"wasteledger/manifest/jcs"
	"wasteledger/manifest/signature"
)

func init() {
	register("sign", "sign a statement (or a statement template, or add a signature to a signed statement) with P-256 JWK keys", runSign)
}

// keyList collects repeated --key flags.
type keyList []string

func (k *keyList) String() string     { return fmt.Sprint(*k) }
func (k *keyList) Set(v string) error { *k = append(*k, v); return nil }

// runSign signs a statement as DESIGN.md §3 and manifest/signature/README.md
// describe: RFC 8785 canonical JSON, ECDSA P-256 over its SHA-256, IEEE
// P1363 r‖s in base64url. Input (a file or -): a statement, a template as
// GET /api/v1/manifests/{id}/statements/{step} returns it, or a signed
// statement {"statement", "signatures"} to add a party's signature to.
// Output: the signed statement, the body of the step's POST.
func runSign(ctx context.Context, e *env, args []string) error {
	fs := e.flags("sign", "FILE|-")
	var keys keyList
	fs.Var(&keys, "key", "private JWK file to sign with; repeat for both parties of a handover (giver first)")
	fromKID := fs.String("from-kid", "", "key id to name for the giving/signing party when another device signs for it")
	toKID := fs.String("to-kid", "", "key id to name for the taking party when another device signs for it")
	now := fs.Bool("now", false, "set the statement's time to now (templates only)")
	out := fs.String("out", "", "write to this file instead of standard output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || len(keys) == 0 {
		fs.Usage()
		return errors.New("need one input file (or -) and at least one --key")
	}
	var in []byte
	var err error
	if fs.Arg(0) == "-" {
		in, err = io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	} else {
		in, err = os.ReadFile(fs.Arg(0))
	}
	if err != nil {
		return err
	}
	type signer struct {
		kid  string
		priv *ecdsa.PrivateKey
	}
	var signers []signer
	for _, f := range keys {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		priv, err := signature.ParsePrivateJWK(b)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		signers = append(signers, signer{signature.Thumbprint(&priv.PublicKey), priv})
	}

	var doc map[string]json.RawMessage
	if err := json.Unmarshal(in, &doc); err != nil {
		return fmt.Errorf("input is not a JSON object: %w", err)
	}
	stRaw, wrapped := doc["statement"]
	if !wrapped {
		stRaw = in
	}
	_, signed := doc["signatures"]
	var env manifest.Signed
	if signed {
		if err := json.Unmarshal(in, &env); err != nil {
			return fmt.Errorf("signed statement: %w", err)
		}
	}
	canonical, err := jcs.Canonicalize(stRaw)
	if err != nil {
		return fmt.Errorf("statement: %w", err)
	}
	var st manifest.Statement
	if err := manifest.DecodeStrict(canonical, &st); err != nil {
		return fmt.Errorf("statement: %w", err)
	}
	if st.From == nil {
		return errors.New("statement names no signing party (from)")
	}
	if !signed {
		// Fill the parties' key ids, then canonicalise what everyone signs.
		next := 0
		take := func(flag string) string {
			if flag != "" {
				return flag
			}
			if next < len(signers) {
				next++
				return signers[next-1].kid
			}
			return ""
		}
		if st.From.Key == "" {
			st.From.Key = take(*fromKID)
		}
		if st.To != nil && st.To.Key == "" {
			st.To.Key = take(*toKID)
		}
		if st.From.Key == "" || (st.To != nil && st.To.Key == "") {
			return errors.New("a party's key id is still empty: pass a --key for each party, or --from-kid/--to-kid for the party that signs on another device")
		}
		if *now {
			st.Time = time.Now().UTC().Truncate(time.Second)
		}
		if canonical, err = jcs.Marshal(st); err != nil {
			return err
		}
		env = manifest.Signed{}
	}
	env.Statement = canonical
	for _, sg := range signers {
		if sg.kid != st.From.Key && (st.To == nil || sg.kid != st.To.Key) {
			return fmt.Errorf("key %s is not a party of this statement (from %s, to %v)", sg.kid, st.From.Key, partyKey(st.To))
		}
		sig, err := signature.Sign(rand.Reader, sg.priv, canonical)
		if err != nil {
			return err
		}
		replaced := false
		for i := range env.Signatures {
			if env.Signatures[i].Key == sg.kid {
				env.Signatures[i].Sig, replaced = sig, true
			}
		}
		if !replaced {
			env.Signatures = append(env.Signatures, manifest.Signature{Key: sg.kid, Sig: sig})
		}
	}
	b, err := json.Marshal(env)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if *out != "" {
		return os.WriteFile(*out, b, 0o644)
	}
	_, err = e.stdout.Write(b)
	return err
}

func partyKey(p *manifest.Party) string {
	if p == nil {
		return "-"
	}
	return p.Key
}
