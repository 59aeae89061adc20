#!/usr/bin/env python3
"""Print one of kind's default manifests (a Go const built from raw strings and
string consts joined with +, in pkg/build/nodeimage/const_*.go), resolved.
usage: extract-kind-manifest.py GOFILE CONSTNAME"""
import re, sys

src = open(sys.argv[1]).read()
consts = dict(re.findall(r'^\s*(?:const\s+)?(\w+)\s*=\s*"([^"]*)"\s*$', src, re.M))
m = re.search(r'^const ' + re.escape(sys.argv[2]) + r'\s*=\s*', src, re.M)
if not m:
    sys.exit("const %s not found in %s" % (sys.argv[2], sys.argv[1]))
i, out = m.end(), []
while True:
    if src[i] == '`':
        j = src.index('`', i + 1)
        out.append(src[i + 1:j]); i = j + 1
    else:
        ident = re.match(r'\w+', src[i:]).group(0)
        out.append(consts[ident]); i += len(ident)
    k = re.match(r'[ \t]*\+\s*', src[i:])
    if not k:
        break
    i += k.end()
sys.stdout.write(''.join(out))
