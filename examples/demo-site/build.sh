#!/bin/sh
# The demo's build step: copy the pages and stamp them with the commit.
set -eu
rm -rf public
cp -r site public
echo "built from commit ${WOK_COMMIT:-unknown} of ${WOK_PROJECT:-?}/${WOK_SITE:-?}" > public/build.txt
