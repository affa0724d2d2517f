#!/usr/bin/python3
"""validate-result.py - check jobrun results against docs/result.schema.json.

usage: /usr/bin/python3 tests/helpers/validate-result.py [--schema FILE] FILE...

Every FILE is read as one JSON result and validated in this one process (the suite calls it
once per test file with all the results it kept). Prints one line per bad file:
    FILE: PATH.TO.KEY: the validator's message
and exits 1 when any file is bad (unreadable, not JSON, or not matching the schema), 0 when all
match, 2 on a usage error or when the schema itself is not valid. Needs python3-jsonschema
(Debian), run with /usr/bin/python3."""
import json
import os
import sys

try:
    import jsonschema
except ImportError:
    print("validate-result.py: python3-jsonschema is not installed for %s (make deps)"
          % sys.executable, file=sys.stderr)
    sys.exit(2)


def main(argv):
    schema_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                               "result.schema.json")
    args = argv[1:]
    if len(args) >= 2 and args[0] == "--schema":
        schema_path, args = args[1], args[2:]
    if not args:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        with open(schema_path) as f:
            schema = json.load(f)
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
    except (OSError, ValueError, jsonschema.exceptions.SchemaError) as e:
        print("validate-result.py: %s: %s" % (schema_path, e), file=sys.stderr)
        return 2
    validator = cls(schema)
    bad = 0
    for path in args:
        try:
            with open(path, "rb") as f:
                doc = json.loads(f.read().decode("utf-8"))
        except (OSError, ValueError) as e:
            print("%s: not a JSON result: %s" % (path, e))
            bad += 1
            continue
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        for e in errors[:5]:
            where = ".".join(str(p) for p in e.absolute_path) or "(top)"
            print("%s: %s: %s" % (path, where, e.message[:300]))
        if errors:
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
