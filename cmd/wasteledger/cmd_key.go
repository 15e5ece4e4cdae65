package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"wasteledger/manifest/signature"
)

func init() {
	register("key", "make a P-256 key pair as JWK files (key new), or show a key's id and public JWK (key show)", runKey)
}

func runKey(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: wasteledger key new [--out NAME] | wasteledger key show FILE")
	}
	switch args[0] {
	case "new":
		flags := e.flags("key new", "")
		out := flags.String("out", envDefault("key-out", "key"), "file name prefix: writes NAME.jwk (private, mode 0600) and NAME.pub.jwk (WASTELEDGER_KEY_OUT)")
		if err := flags.Parse(args[1:]); err != nil {
			return err
		}
		k, err := signature.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		priv, pub := *out+".jwk", *out+".pub.jwk"
		f, err := os.OpenFile(priv, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists; choose another --out", priv)
		}
		if err != nil {
			return err
		}
		if _, err := f.Write(append(signature.MarshalPrivateJWK(k), '\n')); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if err := os.WriteFile(pub, append(signature.MarshalPublicJWK(&k.PublicKey), '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "kid %s\nprivate key %s (keep it on this device)\npublic key  %s (register it: POST /api/v1/orgs/{org}/keys)\n",
			signature.Thumbprint(&k.PublicKey), priv, pub)
		return nil
	case "show":
		if len(args) != 2 {
			return errors.New("usage: wasteledger key show FILE")
		}
		b, err := os.ReadFile(args[1])
		if err != nil {
			return err
		}
		pub, err := signature.ParsePublicJWK(publicPart(b))
		if err != nil {
			return fmt.Errorf("%s: %w", args[1], err)
		}
		out, _ := json.Marshal(map[string]any{"kid": signature.Thumbprint(pub), "jwk": json.RawMessage(signature.MarshalPublicJWK(pub))})
		fmt.Fprintln(e.stdout, string(out))
		return nil
	}
	return fmt.Errorf("unknown key command %q (want new or show)", args[0])
}

// publicPart returns a JWK without its private member "d".
func publicPart(jwk []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(jwk, &m) != nil {
		return jwk
	}
	delete(m, "d")
	b, _ := json.Marshal(m)
	return b
}
