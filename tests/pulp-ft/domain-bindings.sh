#!/usr/bin/env bash
# Pulp's Python bindings for a server with domains on, as Pulp's CI generates them before it runs
# its domain test suites. The bindings on PyPI are generated with domains off: their methods take no
# `pulp_domain`, so the domain tests cannot call them. Needs PostgreSQL at 127.0.0.1:5432 (Django
# wants a database configured; nothing is written) and java.
#
#   PFT_ROOT=<root> domain-bindings.sh   # `tests/pulp-ft/run.py --domains` runs it for its root
#
# Installs `pulpcore.client.pulpcore` and `pulpcore.client.pulp_file` into the venv of the Pulp
# functional-test runner ($PFT_ROOT/venv, default /var/tmp/pulp-ft/venv) over the PyPI ones; run
# the suites against a server with domains on afterwards. `pip install --force-reinstall
# pulpcore-client==3.123.1 pulp-file-client==3.123.1` in that venv puts the domain-less ones back.
#
# The generator is openapi-generator-cli 7.14.0 (PyPI, bundles the jar; needs java), with two of its
# own python templates changed the way Pulp's bindings need them: an operation's `pulp_domain`
# (marked `x-isDomain`) comes last and defaults to "default", and hrefs keep their slashes in paths.
set -euo pipefail
ROOT=${PFT_ROOT:-/var/tmp/pulp-ft}
WORK=$ROOT/domain-bindings
GEN=$WORK/generator
mkdir -p "$WORK"
if [ ! -x "$GEN/bin/openapi-generator-cli" ]; then
  python3 -m venv "$GEN"
  "$GEN/bin/pip" install -q "openapi-generator-cli==7.14.0"
fi
JAR=$(find "$GEN" -name openapi-generator.jar | head -1)
TPL=$WORK/templates
rm -rf "$TPL" && mkdir -p "$TPL"
(cd "$TPL" && unzip -q -o "$JAR" python/partial_api_args.mustache python/configuration.mustache)
python3 - "$TPL/python" <<'PY'
import pathlib, sys
d = pathlib.Path(sys.argv[1])
args = d / "partial_api_args.mustache"
text = args.read_text()
line = "        {{paramName}}: {{{vendorExtensions.x-py-typing}}}{{^required}} = None{{/required}},\n"
assert line in text, "the generator's template changed"
others = "{{^vendorExtensions.x-isDomain}}\n" + line + "        {{/vendorExtensions.x-isDomain}}\n"
domain = ("        {{#allParams}}\n        {{#vendorExtensions.x-isDomain}}\n"
          "        {{paramName}}: {{{vendorExtensions.x-py-typing}}} = \"default\",\n"
          "        {{/vendorExtensions.x-isDomain}}\n        {{/allParams}}\n")
text = text.replace(line, "        " + others)
text = text.replace("        {{/allParams}}\n", "        {{/allParams}}\n" + domain, 1)
args.write_text(text)
conf = d / "configuration.mustache"
text = conf.read_text()
assert "self.safe_chars_for_path_param = ''" in text, "the generator's template changed"
conf.write_text(text.replace("self.safe_chars_for_path_param = ''", "self.safe_chars_for_path_param = '/'"))
PY
# Pulp's own OpenAPI document with domains on, from the pulpcore wheel in the runner's venv (as
# pulp-openapi-generator's input: one per component), so these are the bindings Pulp's CI uses.
cat > "$WORK/settings.py" <<PY
SECRET_KEY = "bindings-only"
DOMAIN_ENABLED = True
DB_ENCRYPTION_KEY = "$ROOT/db.key"
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "postgres",
                         "USER": "postgres", "HOST": "127.0.0.1", "PORT": "5432"}}
WORKING_DIRECTORY = "$WORK/tmp"
PY
for c in core file; do
  PULP_SETTINGS=$WORK/settings.py DJANGO_SETTINGS_MODULE=pulpcore.app.settings \
    "$ROOT/venv/bin/pulpcore-manager" openapi --bindings --component "$c" --file "$WORK/$c-api.json"
done
for pkg in pulpcore pulp_file; do
  rm -rf "$WORK/$pkg-client"
  spec=$WORK/$([ "$pkg" = pulpcore ] && echo core || echo file)-api.json
  java -jar "$JAR" generate -i "$spec" -g python -o "$WORK/$pkg-client" -t "$TPL/python" \
    --additional-properties="packageName=pulpcore.client.$pkg,projectName=$pkg-client,packageVersion=3.123.1" \
    --skip-validate-spec --strict-spec=false > "$WORK/$pkg.log"
  # In place of the PyPI package's modules (its generated packaging metadata does not build).
  SITE=$("$ROOT/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  rm -rf "$SITE/pulpcore/client/$pkg" && cp -r "$WORK/$pkg-client/pulpcore/client/$pkg" "$SITE/pulpcore/client/"
done
echo "domain-enabled bindings installed into $ROOT/venv"
