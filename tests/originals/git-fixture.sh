#!/usr/bin/env bash
# Builds the repositories tests/e2e/catalog.rs reads with PyPI's
# mcp-server-git and with the catalog's git component: ROOT/work (history
# with renames, a merge, a tag, remote refs, binary and unicode files,
# packed by gc, and uncommitted changes of every kind), ROOT/fresh (no
# commit yet) and ROOT/detached (HEAD detached). Dates are fixed, so the
# ids are the same on every run.
set -euo pipefail
root=$1
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="Ada Lovelace" GIT_AUTHOR_EMAIL=ada@example.com
export GIT_COMMITTER_NAME="Ada Lovelace" GIT_COMMITTER_EMAIL=ada@example.com
at() { export GIT_AUTHOR_DATE=$1 GIT_COMMITTER_DATE=$1; }

mkdir -p "$root/work" && cd "$root/work"
git init -q -b main
printf 'fn main() {\n    let a = 1;\n    let b = 2;\n    println!("{}", a + b);\n}\n\nfn helper() -> u32 {\n    41\n}\n' > main.rs
printf 'hello\n' > readme.txt
mkdir docs && printf 'doc\n' > docs/a.md
printf 'line without newline' > nonl.txt
printf 'GIF89a\0\1\2binary' > bin.dat
printf 'grüße\n' > "ünïcode.txt"
seq 1 30 | sed 's/^/line /' > long.txt
printf '*.log\n' > .gitignore
ln -s readme.txt link
git add . && at "2024-01-15T14:30:25+01:00" && git commit -qm "first commit"
git tag -a v1 -m "version one"

git checkout -q -b feature
printf 'feature\n' > feature.txt
git add feature.txt && at "2024-01-20T10:00:00+00:00" && git commit -qm "add feature"
git checkout -q main

sed -i 's/let b = 2;/let b = 3;/; s/    41/    42/' main.rs
git mv readme.txt README.txt
sed -i 's/^line 3$/line three/; s/^line 25$/line twenty-five/' long.txt
printf 'line without newline, changed' > nonl.txt
printf 'GIF89a\0\1\2binary2' > bin.dat
printf 'grüße, welt\n' > "ünïcode.txt"
git add -A && at "2024-02-01T09:00:00-05:00" && git commit -qm $'second\n\nbody line'
at "2024-02-10T12:00:00+09:00" && git merge -q --no-ff feature -m "merge feature"
git update-ref refs/remotes/origin/main HEAD~1
git symbolic-ref refs/remotes/origin/HEAD refs/remotes/origin/main
git gc -q

printf 'more\n' >> docs/a.md
sed -i 's/^line 10$/line ten/' long.txt
rm nonl.txt
printf 'staged\n' > staged.txt && git add staged.txt
printf 'new\n' > untracked.txt
mkdir -p newdir/inner && printf 'x\n' > newdir/inner/x
printf 'noise\n' > debug.log
mkdir -p logs && printf 'noise\n' > logs/run.log
printf 'grüße, welt!\n' > "ünïcode.txt"

mkdir -p "$root/fresh" && cd "$root/fresh"
git init -q -b trunk
printf 'first\n' > first.txt && git add first.txt
printf 'loose\n' > loose.txt

git clone -q "$root/work" "$root/detached" && cd "$root/detached"
git checkout -q --detach HEAD~1
