#!/usr/bin/env bash
# Keys, access rules and the audit trail: mlo keys, signed promotions (missing, unlisted, forged,
# altered, valid), mlo register verify, and mlo audit log/verify finding tampered tags and every
# kind of edit to the hash-chained local log.
source "$(dirname "$0")/lib.sh"
export MLO_KEYS_DIR="$E2E_SCRATCH/keys"

json_ok() { expect_exit 0 mlo --json "$@"; }

# The public key line `mlo keys generate` printed for NAME (generated once per script).
key_line() {
    if [[ ! -e $MLO_KEYS_DIR/$1.pem ]]; then
        "$MLO" keys generate --name "$1" >"$E2E_SCRATCH/$1.pub"
    fi
    cat "$E2E_SCRATCH/$1.pub"
}

# A project with one registered model (two versions) and a guarded production stage: promotions
# to production need signatures from two of alice, bob (carol has a key but is not listed).
guarded_project() {
    local alice bob
    alice=$(key_line alice)
    bob=$(key_line bob)
    key_line carol >/dev/null
    new_project
    mkdir models
    echo "models/" >.gitignore
    echo one >models/m.bin
    cat >>mlo.yaml <<EOF2
models:
  clf: {path: models/m.bin, type: test}
registry:
  stages: [staging, production]
access:
  keys:
    $alice
    $bob
  rules:
    - {action: promote, stage: production, signers: [alice, bob], min: 2}
EOF2
    commit_all setup
    mlo -q register clf >/dev/null
    echo two >models/m.bin
    mlo -q register clf >/dev/null
}

case_keys() {
    new_dir
    expect_exit 0 mlo keys generate --name dave@example.com
    expect_contains "$OUT" 'dave@example.com: "ed25519:'
    [[ $(stat -c %a "$MLO_KEYS_DIR/dave@example.com.pem") == 600 ]] || fail "private key is not mode 0600"
    [[ $(stat -c %a "$MLO_KEYS_DIR") == 700 ]] || fail "keys directory is not mode 0700"
    expect_not_contains "$OUT" "PRIVATE"
    expect_exit 3 mlo keys generate --name dave@example.com
    expect_exit 2 mlo keys generate --name '../evil'
    json_ok keys list
    expect_eq "$(json_get "$OUT" keys.0.name)" "dave@example.com"
    expect_not_contains "$OUT" "PRIVATE"
    # A group-readable private key is refused, as ssh does.
    chmod 640 "$MLO_KEYS_DIR/dave@example.com.pem"
    new_project
    echo "x" >m.bin
    printf 'models:\n  m: {path: m.bin}\nregistry: {stages: [prod]}\n' >>mlo.yaml
    commit_all m
    mlo -q register m --allow-dirty >/dev/null
    expect_exit 3 mlo register promote m@v0.0.1 --to prod --key dave@example.com
    expect_contains "$ERR" "chmod 600"
    rm "$MLO_KEYS_DIR/dave@example.com.pem"
    # Keys are never made inside a project.
    MLO_KEYS_DIR="$REPO/keys" expect_exit 3 mlo keys generate --name eve
    expect_contains "$ERR" "inside the project"
    [[ ! -e $REPO/keys ]] || fail "a key directory was made inside the project"
}
run_case "keys: generate (0600, never in the project), list, refuse overwrite and loose modes" case_keys

case_guarded_promotions() {
    guarded_project
    tags_before=$(git tag | wc -l)
    # No signature.
    expect_exit 3 mlo register promote clf@v0.0.2 --to production
    expect_contains "$ERR" "promote to production needs 2 valid signatures from [alice, bob], has 0"
    # Only one of two.
    expect_exit 3 mlo register promote clf@v0.0.2 --to production --key alice
    expect_contains "$ERR" "has 1"
    # A key that is not listed in access.keys.
    expect_exit 3 mlo register promote clf@v0.0.2 --to production --key alice --key carol
    expect_contains "$ERR" "signature by 'carol', who has no key in access.keys"
    # A forged signature: bob's real signature of another promotion (v0.0.1) replayed onto v0.0.2.
    expect_exit 0 mlo register promote clf@v0.0.1 --to production --key bob --sign-only
    replayed=$(cat "$OUT")
    expect_exit 3 mlo register promote clf@v0.0.2 --to production --key alice --signature "$replayed"
    expect_contains "$ERR" "signature by 'bob' does not match the tag"
    # Garbage in a signature.
    expect_exit 3 mlo register promote clf@v0.0.2 --to production --key alice --signature "bob ed25519:AAAA"
    expect_exit 2 mlo register promote clf@v0.0.2 --to production --signature "no-signature-here"
    expect_eq "$(git tag | wc -l)" "$tags_before" "refused promotions created no tag"
    # The valid way: bob signs on his machine, alice attaches his line and signs herself.
    expect_exit 0 mlo register promote clf@v0.0.2 --to production --key bob --sign-only
    bob_line=$(cat "$OUT")
    expect_exit 0 mlo register promote clf@v0.0.2 --to production --key alice --signature "$bob_line"
    expect_contains "$OUT" "clf#production#1 (signed by bob, alice)"
    expect_exit 0 mlo register verify 'clf#production'
    expect_contains "$OUT" "verified"
    # Unguarded stages need no signature.
    expect_exit 0 mlo register promote clf@v0.0.1 --to staging
    expect_exit 0 mlo audit verify
    expect_contains "$OUT" "audit verified"
}
run_case "guarded promotions: unsigned, one short, unlisted key, forged and a valid one" case_guarded_promotions

# make_tag NAME TARGET MESSAGE_FILE: an annotated tag made by hand, as an attacker or another
# tool would.
make_tag() { git tag -a "$1" -F "$3" --cleanup=verbatim "$2"; }

case_verify_finds_tampered_tags() {
    guarded_project
    v2_commit=$(git rev-parse 'clf@v0.0.2^{commit}')
    v2_manifest=$(git cat-file -p 'clf@v0.0.2' | sed -n 's/^mlo-manifest: //p')
    v1_manifest=$(git cat-file -p 'clf@v0.0.1' | sed -n 's/^mlo-manifest: //p')
    # 1. An unsigned promotion to the guarded stage made by hand with git.
    printf 'Promote\n\nmlo-action: promote\nmlo-model: clf\nmlo-version: v0.0.2\nmlo-stage: production\nmlo-manifest: %s\n' \
        "$v2_manifest" >msg
    make_tag 'clf#production#1' "$v2_commit" msg
    expect_exit 1 mlo register verify 'clf#production'
    expect_contains "$OUT" "clf#production#1: promote to production needs 2 valid signatures"
    expect_exit 1 mlo audit verify
    expect_contains "$OUT" "clf#production#1: promote to production needs 2"
    # 2. A properly signed promotion, then re-made by hand with the version changed: the
    #    signatures no longer match the payload.
    expect_exit 0 mlo register demote clf --from production
    expect_exit 0 mlo register promote clf@v0.0.2 --to production --key bob --sign-only
    bob_line=$(cat "$OUT")
    expect_exit 0 mlo register promote clf@v0.0.2 --to production --key alice --signature "$bob_line"
    git cat-file -p 'clf#production#3' | sed '1,/^$/d' | sed "s/$v2_manifest/$v1_manifest/; s/v0.0.2/v0.0.1/" >altered
    git tag -d 'clf#production#3' >/dev/null
    make_tag 'clf#production#3' "$(git rev-parse 'clf@v0.0.1^{commit}')" altered
    expect_exit 1 mlo audit verify
    expect_contains "$OUT" "signature by 'alice' does not match the tag"
    expect_contains "$OUT" "signature by 'bob' does not match the tag"
    expect_contains "$OUT" "records tag clf#production#3 as object"
    expect_exit 1 mlo register verify 'clf#production'
    # 3. A version tag made by hand with a wrong manifest id.
    printf 'Register\n\nmlo-action: register\nmlo-model: clf\nmlo-version: v0.0.9\nmlo-manifest: %s\n' "$v1_manifest" >fake
    make_tag 'clf@v0.0.9' HEAD fake
    expect_exit 1 mlo audit verify
    expect_contains "$OUT" "clf@v0.0.9: tag clf@v0.0.9 names the manifest of clf@v0.0.1"
    # 4. A lightweight tag in the registry's grammar.
    git tag 'clf@v0.0.8' HEAD
    expect_exit 1 mlo audit verify
    expect_contains "$OUT" "clf@v0.0.8: is a lightweight tag"
    # 5. A tag this clone created, deleted afterwards.
    git tag -d 'clf@v0.0.1' >/dev/null
    expect_exit 1 mlo --json audit verify
    expect_contains "$OUT" "which no longer exists (deleted)"
    expect_eq "$(json_get "$OUT" ok)" "false"
}
run_case "audit verify and register verify find hand-made, altered, fake and deleted tags" case_verify_finds_tampered_tags

case_audit_log_chain() {
    guarded_project
    mlo -q register promote clf@v0.0.1 --to staging >/dev/null
    mlo -q register promote clf@v0.0.2 --to staging >/dev/null
    expect_exit 0 mlo audit verify
    json_ok audit log
    expect_eq "$(json_get "$OUT" events.#)" "4"
    expect_eq "$(json_get "$OUT" events.0.subject)" "clf@v0.0.1"
    expect_eq "$(json_get "$OUT" events.3.subject)" "clf#staging#2"
    expect_eq "$(json_get "$OUT" events.3.source)" "tag+log"
    log=.mlo/audit/log.jsonl
    cp "$log" pristine
    cp .mlo/audit/head pristine-head
    restore() { cp pristine "$log"; cp pristine-head .mlo/audit/head; }

    sed -i '2s/e2e@mlo.invalid/mallory@evil.invalid/' "$log"
    expect_exit 1 mlo audit verify
    expect_contains "$OUT" "audit log line 2"
    restore
    sed -i '2d' "$log"
    expect_exit 1 mlo audit verify
    expect_contains "$OUT" "audit log line"
    restore
    { sed -n 1p pristine; sed -n 3p pristine; sed -n 2p pristine; sed -n 4p pristine; } >"$log"
    expect_exit 1 mlo audit verify
    restore
    sed -i '$d' "$log"
    expect_exit 1 mlo audit verify
    expect_contains "$OUT" "audit log"
    restore
    rm "$log"
    expect_exit 1 mlo audit verify
    restore
    expect_exit 0 mlo audit verify
    # Appending continues the chain.
    mlo -q register demote clf --from staging >/dev/null
    expect_exit 0 mlo audit verify
    expect_contains "$OUT" "5 logged events"
}
run_case "the local audit log detects edited, deleted, reordered and truncated lines" case_audit_log_chain

finish
