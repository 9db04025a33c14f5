#!/usr/bin/env bash
# mlo track: ids, pointers, .gitignore entries, the stat cache, odd names, symlinks, link modes.
source "$(dirname "$0")/lib.sh"

# A file's id is what sha256sum prints; the pointer, .gitignore and --json say what they should.
case_file_known_answer() {
    new_project
    mkdir data
    printf 'tenure,plan,churned\n1,basic,0\n24,pro,1\n' >data/raw.csv
    # Known answer, independent of mlo and of sha256sum.
    expect_eq "$(file_sha data/raw.csv)" \
        "sha256:$(python3 -c 'import hashlib;print(hashlib.sha256(open("data/raw.csv","rb").read()).hexdigest())')"
    expect_exit 0 mlo --json track data/raw.csv
    expect_json "$OUT" schema mlo.track/1
    expect_json "$OUT" tracked.# 1
    expect_json "$OUT" tracked.0.path data/raw.csv
    expect_json "$OUT" tracked.0.kind file
    expect_json "$OUT" tracked.0.hash "$(file_sha data/raw.csv)"
    expect_json "$OUT" tracked.0.size "$(stat -c %s data/raw.csv)"
    expect_json "$OUT" tracked.0.pointer data/raw.csv.mlo
    expect_json "$OUT" tracked.0.changed true
    expect_json "$OUT" gitignores '["data/.gitignore"]'
    local want
    want=$(printf 'schema: mlo.pointer/1\npath: "raw.csv"\nkind: file\nhash: %s\nsize: %s\n' "$(file_sha data/raw.csv)" "$(stat -c %s data/raw.csv)")
    expect_eq "$(cat data/raw.csv.mlo)" "$want" "pointer file"
    # The object is the file's bytes under its id, read-only.
    local obj
    obj=$(obj_path "$(file_sha data/raw.csv)")
    cmp -s "$obj" data/raw.csv || fail "object $obj differs from the data"
    expect_eq "$(stat -c %a "$obj")" 444 "object mode"
    # git sees the pointer, not the data.
    expect_eq "$(git status --porcelain --untracked-files=all | sort)" "$(printf '?? data/.gitignore\n?? data/raw.csv.mlo')" "git status"
    # The human output names the path; the hint is on stderr.
    echo "x" >other.bin
    expect_exit 0 mlo track other.bin
    expect_contains "$OUT" "tracked other.bin"
    expect_contains "$ERR" "hint: commit the pointers: git add other.bin.mlo"
}

# The same tree gives the same id in two unrelated repositories, whatever the creation order and
# timestamps; the id matches an independent computation.
case_directory_id_stable() {
    new_project
    local first=$REPO
    mkdir -p ds/b/c ds/a
    echo one >ds/a/1.txt
    echo two >ds/b/2.txt
    printf 'x%.0s' {1..5000} >ds/b/c/big.txt
    printf '#!/bin/sh\necho hi\n' >ds/run.sh
    chmod +x ds/run.sh
    mkdir ds/empty
    ln -s b/2.txt ds/link
    expect_exit 0 mlo --json track ds
    local id1
    id1=$(json_get "$OUT" tracked.0.hash)
    expect_eq "$id1" "$(tree_id ds)" "directory id vs independent computation"
    expect_json "$OUT" tracked.0.files 5
    expect_json "$OUT" tracked.0.size $((4 + 4 + 5000 + 18))

    new_project
    mkdir ds
    ln -s b/2.txt ds/link
    mkdir ds/empty ds/b
    printf '#!/bin/sh\necho hi\n' >ds/run.sh
    chmod +x ds/run.sh
    mkdir ds/b/c ds/a
    printf 'x%.0s' {1..5000} >ds/b/c/big.txt
    echo two >ds/b/2.txt
    echo one >ds/a/1.txt
    touch -d '2001-02-03 04:05:06' ds/a/1.txt ds/b ds
    expect_exit 0 mlo --json track ds
    expect_json "$OUT" tracked.0.hash "$id1"
    expect_file_eq ds.mlo "$first/ds.mlo"

    # Any content, name, mode or structure change changes the id.
    chmod -x ds/run.sh
    expect_exit 0 mlo --json track ds
    [[ $(json_get "$OUT" tracked.0.hash) != "$id1" ]] || fail "exec bit does not change the id"
    chmod +x ds/run.sh
    rmdir ds/empty
    expect_exit 0 mlo --json track ds
    [[ $(json_get "$OUT" tracked.0.hash) != "$id1" ]] || fail "an empty directory does not change the id"
    mkdir ds/empty
    expect_exit 0 mlo --json track ds
    expect_json "$OUT" tracked.0.hash "$id1"
}

# Re-tracking unchanged data writes the same pointer and, after the racy window, hashes nothing.
case_retrack_unchanged() {
    new_project
    mkdir -p d/sub
    for i in 1 2 3 4 5; do echo "file $i" >"d/sub/f$i"; done
    echo single >s.txt
    age_files d s.txt
    expect_exit 0 mlo --json track d s.txt
    expect_json "$OUT" tracked.0.hashed_files 5
    expect_json "$OUT" tracked.1.hashed_files 1
    cp d.mlo "$E2E_SCRATCH/d.mlo"
    cp s.txt.mlo "$E2E_SCRATCH/s.mlo"
    cp .gitignore "$E2E_SCRATCH/gitignore"
    # The files' mtimes are hours old, so the cache entries recorded just now are not racy.
    expect_exit 0 mlo --json track d s.txt
    expect_json "$OUT" tracked.0.hashed_files 0
    expect_json "$OUT" tracked.1.hashed_files 0
    expect_json "$OUT" tracked.0.changed false
    expect_json "$OUT" gitignores '[]'
    expect_file_eq d.mlo "$E2E_SCRATCH/d.mlo"
    expect_file_eq s.txt.mlo "$E2E_SCRATCH/s.mlo"
    expect_file_eq .gitignore "$E2E_SCRATCH/gitignore"
    expect_exit 0 mlo track d
    expect_contains "$OUT" "unchanged d"
    # One changed file: only it is hashed, and the pointer changes.
    echo "changed" >d/sub/f3
    expect_exit 0 mlo --json track d
    expect_json "$OUT" tracked.0.hashed_files 1
    expect_json "$OUT" tracked.0.changed true
    cmp -s d.mlo "$E2E_SCRATCH/d.mlo" && fail "pointer unchanged after a content change"
    # A file rewritten with the same size and its old mtime restored is still noticed (ctime).
    age_files d
    expect_exit 0 mlo --json track d
    local before
    before=$(json_get "$OUT" tracked.0.hash)
    echo "CHANGED" >d/sub/f3
    touch -d '2 hours ago' d/sub/f3
    expect_exit 0 mlo --json track d
    [[ $(json_get "$OUT" tracked.0.hash) != "$before" ]] || fail "same-size edit with restored mtime missed"
}

# The racy-git rule: data written just before tracking is re-hashed on the next run.
case_racy_window() {
    new_project
    echo a >f
    expect_exit 0 mlo --json track f
    echo b >f # same size, same second
    expect_exit 0 mlo --json track f
    expect_json "$OUT" tracked.0.hash "$(file_sha f)"
    expect_json "$OUT" tracked.0.hashed_files 1
    sleep 2.1
    expect_exit 0 mlo --json track f # now recorded with an old-enough mtime
    expect_exit 0 mlo --json track f
    expect_json "$OUT" tracked.0.hashed_files 0
}

# File names with spaces, non-ASCII letters and .gitignore metacharacters.
case_odd_names() {
    new_project
    mkdir -p "my data"
    local names=("with space.csv" "ünïcødé ✓.txt" "#hash" "!bang" "star*name" "q?[x]" "trailing " "back\\slash")
    local name
    for name in "${names[@]}"; do
        printf '%s\n' "$name" >"my data/$name"
    done
    expect_exit 0 mlo track "${names[@]/#/my data/}"
    for name in "${names[@]}"; do
        [[ -f "my data/$name.mlo" ]] || fail "no pointer for '$name'"
        expect_eq "$(pointer_hash "my data/$name.mlo")" "$(file_sha "my data/$name")" "id of '$name'"
        git check-ignore -q "my data/$name" || fail "'$name' is not git-ignored"
        git check-ignore -q "my data/$name.mlo" && fail "the pointer of '$name' is git-ignored"
    done
    # Only the pointers and the .gitignore show up in git; nothing else got ignored by accident.
    echo other >"my data/other"
    git check-ignore -q "my data/other" && fail "an untracked neighbour is ignored"
    expect_eq "$(git status --porcelain --untracked-files=all | grep -vc '\.mlo"\?$')" 2 "git status lines besides pointers"
    # A directory with such names, tracked and restored.
    mkdir -p tree/"sous répertoire"
    cp "my data/"* tree/"sous répertoire"/ 2>/dev/null || true
    rm -f tree/"sous répertoire"/*.mlo
    expect_exit 0 mlo --json track tree
    local id
    id=$(json_get "$OUT" tracked.0.hash)
    rm -rf tree
    expect_exit 0 mlo checkout tree
    expect_exit 0 mlo --json track tree
    expect_json "$OUT" tracked.0.hash "$id"
    [[ -f "tree/sous répertoire/ünïcødé ✓.txt" ]] || fail "non-ASCII name not restored"
}

# Empty directories are part of the tree and come back on checkout.
case_empty_dirs() {
    new_project
    mkdir -p d/empty d/full/empty_too
    echo x >d/full/x
    expect_exit 0 mlo --json track d
    expect_json "$OUT" tracked.0.files 1
    rm -rf d
    expect_exit 0 mlo checkout d
    [[ -d d/empty && -d d/full/empty_too && -f d/full/x ]] || fail "empty directories not restored: $(find d)"
    # A directory that is entirely empty can be tracked too.
    mkdir nothing
    expect_exit 0 mlo --json track nothing
    expect_json "$OUT" tracked.0.files 0
    rmdir nothing
    expect_exit 0 mlo checkout nothing
    [[ -d nothing ]] || fail "empty tracked directory not restored"
    expect_exit 0 mlo status --exit-code
}

# The executable bit is recorded (pointer and manifest) and restored by checkout.
case_exec_bit() {
    new_project
    printf '#!/bin/sh\necho ok\n' >tool.sh
    chmod 755 tool.sh
    mkdir bin
    cp tool.sh bin/run
    echo data >bin/plain
    chmod 644 bin/plain
    expect_exit 0 mlo track tool.sh bin
    grep -qx 'executable: true' tool.sh.mlo || fail "pointer lacks executable: true: $(cat tool.sh.mlo)"
    rm -rf tool.sh bin
    expect_exit 0 mlo checkout
    [[ -x tool.sh && -x bin/run ]] || fail "exec bit not restored"
    [[ ! -x bin/plain ]] || fail "plain file became executable"
    expect_eq "$(./tool.sh)" ok "restored script output"
    # Changing only the mode is a modification.
    chmod -x tool.sh
    expect_exit 1 mlo status --exit-code tool.sh
    expect_contains "$OUT" "modified"
}

# Symlinks inside a tracked directory are recorded as links (not followed) and restored as links.
case_symlink_inside_dir() {
    new_project
    mkdir -p d/real
    echo content >d/real/file
    ln -s real/file d/rel_link
    ln -s /etc/hostname d/abs_link
    ln -s does/not/exist d/dangling
    expect_exit 0 mlo --json track d
    expect_json "$OUT" tracked.0.files 4
    expect_json "$OUT" tracked.0.size 8 # links count no bytes
    rm -rf d
    expect_exit 0 mlo checkout d
    for link in rel_link abs_link dangling; do
        [[ -L d/$link ]] || fail "d/$link not restored as a symlink"
    done
    expect_eq "$(readlink d/rel_link)" real/file "rel_link target"
    expect_eq "$(readlink d/abs_link)" /etc/hostname "abs_link target"
    expect_eq "$(readlink d/dangling)" does/not/exist "dangling target"
    expect_exit 0 mlo status --exit-code
    # Retargeting a link is a modification of the directory.
    ln -sfn real d/rel_link
    expect_exit 1 mlo status --exit-code
    expect_contains "$OUT" "modified: rel_link"
}

# A symlink as the tracked path itself is refused: the pointer would describe someone else's data.
case_top_level_symlink_refused() {
    new_project
    echo x >real.txt
    ln -s real.txt link.txt
    mkdir realdir
    ln -s realdir linkdir
    local before
    before=$(store_listing)
    expect_exit 2 mlo track link.txt
    expect_contains "$ERR" "cannot track link.txt: it is a symbolic link"
    expect_exit 2 mlo track linkdir
    expect_contains "$ERR" "linkdir"
    [[ ! -e link.txt.mlo && ! -e linkdir.mlo && ! -e realdir.mlo && ! -e real.txt.mlo ]] || fail "pointer written"
    expect_eq "$(store_listing)" "$before" "store after a refused track"
    grep -q 'link' .gitignore && fail ".gitignore changed: $(cat .gitignore)"
    true
}

# .gitignore entries are anchored (/name in the data's own directory) and never duplicated.
case_gitignore_anchored() {
    new_project
    mkdir -p data/sub other
    echo a >data/a.csv
    echo b >data/sub/a.csv
    echo c >other/a.csv
    printf 'keep-me\n' >data/.gitignore
    expect_exit 0 mlo track data/a.csv
    expect_exit 0 mlo track data/a.csv
    expect_exit 0 mlo track ./data/../data/a.csv
    expect_eq "$(cat data/.gitignore)" "$(printf 'keep-me\n/a.csv')" "data/.gitignore"
    git check-ignore -q data/a.csv || fail "data/a.csv not ignored"
    git check-ignore -q data/sub/a.csv && fail "anchoring: data/sub/a.csv ignored"
    git check-ignore -q other/a.csv && fail "anchoring: other/a.csv ignored"
    # A .gitignore without a final newline gets one before the entry.
    printf 'no-newline' >other/.gitignore
    expect_exit 0 mlo track other/a.csv
    expect_eq "$(cat other/.gitignore)" "$(printf 'no-newline\n/a.csv')" "other/.gitignore"
    # Tracking from a subdirectory with a relative path is the same thing.
    cd data/sub
    expect_exit 0 mlo --json track a.csv
    expect_json "$OUT" tracked.0.path data/sub/a.csv
    [[ -f a.csv.mlo ]] || fail "pointer not beside the data"
    expect_eq "$(cat .gitignore)" "/a.csv" "data/sub/.gitignore"
    cd "$REPO"
    expect_eq "$(grep -c '^/.mlo/$' .gitignore)" 1 "/.mlo/ entries in the root .gitignore"
}

set_link_mode() {
    sed -i "s/^  link: .*/  link: $1/" mlo.yaml
    grep -q "link: $1" mlo.yaml || printf 'store: {link: %s}\n' "$1" >>mlo.yaml
}

# hardlink: the workspace file is the object itself (same inode), read-only.
case_link_hardlink() {
    new_project
    set_link_mode hardlink
    echo "hello" >f.txt
    mkdir d
    echo "in dir" >d/a
    printf '#!/bin/sh\necho x\n' >d/tool
    chmod +x d/tool
    expect_exit 0 mlo track f.txt d
    local obj
    obj=$(obj_path "$(pointer_hash f.txt.mlo)")
    expect_eq "$(stat -c %i f.txt)" "$(stat -c %i "$obj")" "inode of f.txt vs its object"
    expect_eq "$(stat -c %a f.txt)" 444 "mode of a hardlinked file"
    expect_eq "$(stat -c %i d/a)" "$(stat -c %i "$(obj_path "$(file_sha d/a)")")" "inode of d/a"
    # Executable files keep their mode (they are copied, since the shared object is 0444).
    [[ -x d/tool ]] || fail "d/tool lost its exec bit"
    expect_exit 0 mlo status --exit-code
    rm -rf f.txt d
    expect_exit 0 mlo checkout
    expect_eq "$(stat -c %i f.txt)" "$(stat -c %i "$obj")" "inode after checkout"
    [[ -x d/tool ]] || fail "d/tool not executable after checkout"
    expect_exit 0 mlo status --exit-code
    expect_exit 0 mlo -v status
    expect_contains "$ERR" "link mode: hardlink"
    expect_exit 0 mlo fsck
}

# symlink: the workspace file is a symlink into .mlo/objects; status and re-track see the data.
case_link_symlink() {
    new_project
    set_link_mode symlink
    echo "hello" >f.txt
    mkdir d
    echo "in dir" >d/a
    expect_exit 0 mlo --json track f.txt d
    local fid did
    fid=$(json_get "$OUT" tracked.0.hash)
    did=$(json_get "$OUT" tracked.1.hash)
    [[ -L f.txt ]] || fail "f.txt is not a symlink"
    [[ $(readlink f.txt) == "$REPO/.mlo/objects/sha256/"* ]] || fail "f.txt -> $(readlink f.txt)"
    [[ -L d/a && $(readlink d/a) == "$REPO/.mlo/objects/"* ]] || fail "d/a is not a link into the store"
    expect_eq "$(cat f.txt)" hello "content through the link"
    expect_exit 0 mlo status --exit-code
    # Re-tracking the linked data records the data, not the links.
    cp f.txt.mlo "$E2E_SCRATCH/f.mlo"
    cp d.mlo "$E2E_SCRATCH/d.mlo"
    expect_exit 0 mlo --json track f.txt d
    expect_json "$OUT" tracked.0.hash "$fid"
    expect_json "$OUT" tracked.1.hash "$did"
    expect_file_eq f.txt.mlo "$E2E_SCRATCH/f.mlo"
    expect_file_eq d.mlo "$E2E_SCRATCH/d.mlo"
    rm -rf f.txt d
    expect_exit 0 mlo checkout
    [[ -L f.txt && -L d/a ]] || fail "checkout did not make links"
    expect_exit 0 mlo status --exit-code
    expect_exit 0 mlo checkout
    expect_contains "$OUT" "workspace already matches"
    # Switching to copy mode and checking out with --force gives real files... only where needed:
    # the links already match, so nothing is rewritten; deleting them brings copies.
    set_link_mode copy
    rm -f f.txt
    expect_exit 0 mlo checkout f.txt
    [[ -f f.txt && ! -L f.txt ]] || fail "copy mode did not write a regular file"
    expect_exit 0 mlo fsck
}

# copy: an independent, writable file.
case_link_copy() {
    new_project
    set_link_mode copy
    echo "hello" >f.txt
    expect_exit 0 mlo track f.txt
    local obj
    obj=$(obj_path "$(pointer_hash f.txt.mlo)")
    [[ $(stat -c %i f.txt) != "$(stat -c %i "$obj")" ]] || fail "copy mode shares the inode"
    rm f.txt
    expect_exit 0 mlo checkout
    [[ $(stat -c %i f.txt) != "$(stat -c %i "$obj")" ]] || fail "checkout in copy mode shares the inode"
    expect_eq "$(stat -c %a f.txt)" 644 "mode of a copied file"
    echo "edited" >>f.txt
    cmp -s f.txt "$obj" && fail "editing the copy changed the object"
    expect_exit 0 mlo fsck
}

# Several paths at once, and a path that makes the whole command fail changes nothing.
case_multiple_paths() {
    new_project
    echo 1 >a
    echo 2 >b
    expect_exit 2 mlo track a missing b
    expect_contains "$ERR" "missing"
    [[ ! -e a.mlo && ! -e b.mlo ]] || fail "partial track"
    expect_exit 0 mlo --json track a b
    expect_json "$OUT" tracked.# 2
    expect_json "$OUT" tracked.1.path b
    # Tracking inside a tracked directory, or a directory holding tracked data, is refused.
    mkdir -p d/e
    echo x >d/e/x
    expect_exit 0 mlo track d
    expect_exit 2 mlo track d/e/x
    expect_contains "$ERR" "inside tracked directory d"
    mkdir -p outer/inner
    echo y >outer/inner/y
    expect_exit 0 mlo track outer/inner/y
    expect_exit 2 mlo track outer
    expect_contains "$ERR" "contains tracked data outer/inner/y"
}

run_case "file id equals sha256sum; pointer and --json" case_file_known_answer
run_case "directory id stable across repositories" case_directory_id_stable
run_case "re-tracking unchanged data hashes nothing" case_retrack_unchanged
run_case "racy window re-hashes fresh files" case_racy_window
run_case "names with spaces, non-ASCII and glob characters" case_odd_names
run_case "empty directories" case_empty_dirs
run_case "executable bit recorded and restored" case_exec_bit
run_case "symlinks inside a directory" case_symlink_inside_dir
run_case "top-level symlink refused" case_top_level_symlink_refused
run_case ".gitignore entries anchored, not duplicated" case_gitignore_anchored
run_case "link mode hardlink" case_link_hardlink
run_case "link mode symlink" case_link_symlink
run_case "link mode copy" case_link_copy
run_case "several paths; nested tracking refused" case_multiple_paths
finish
