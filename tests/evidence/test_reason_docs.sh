#!/usr/bin/env bash
# Every reason code the evidence verifier can emit is documented in docs/evidence.md (GPU
# evidence: docs/evidence-nvidia.md):
# collects the codes of src/evidence (verdict_add / snp_reason_add arguments, code tables,
# and the codes built from "collateral.%s.*" and x509chain.c's problem names) and wants each
# in the reasons table. A new code without a line in the docs fails this test.
set -euo pipefail
: "${GTEE_SOURCE_DIR:?}"
exec python3 - "$GTEE_SOURCE_DIR" <<'PY'
import glob, os, re, sys

root = sys.argv[1]
src = {os.path.basename(p): open(p).read() for p in glob.glob(os.path.join(root, "src/evidence/*.c"))}
doc = open(os.path.join(root, "docs/evidence.md")).read()
doc += open(os.path.join(root, "docs/evidence-nvidia.md")).read()
shape = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+$")
codes = set()
for text in src.values():
    # the code argument of verdict_add(v, CODE, ...) and snp_reason_add(res, rc, CODE, ...)
    codes.update(re.findall(r'\bverdict_add\(\s*[^,"]+,\s*"([^"]+)"', text))
    codes.update(re.findall(r'\bsnp_reason_add\(\s*[^,"]+,\s*[^,"]+,\s*"([^"]+)"', text))
    # code tables: static arrays of names, and table rows { "code", ... }
    for body in re.findall(r'static const char \*const \w+\[\w*\]\s*=\s*\{([^}]*)\}', text):
        codes.update(c for c in re.findall(r'"([^"]+)"', body) if shape.match(c))
    codes.update(re.findall(r'\{\s*"((?:snp|policy|tcb|quote|pck|collateral)\.[a-z0-9_.]+)"\s*,', text))
# Codes built at run time: "collateral.%s.X" for both documents, and the X.509 chain
# checker's "<what>.<problem>" for the PCK chain and both TCB signing chains.
for suffix in re.findall(r'"collateral\.%s\.([a-z_]+)"', src["dcap_collateral_check.c"]):
    for what in ("tcb_info", "qe_identity"):
        codes.add("collateral.%s.%s" % (what, suffix))
problem_fn = re.search(r"static const char \*problem\(int e\)\s*\{(.*?)\n\}", src["x509chain.c"], re.S)
problems = set(re.findall(r'return "([a-z_]+)";', problem_fn.group(1) if problem_fn else ""))
problems.update(re.findall(r'"%s\.([a-z_]+)"', src["x509chain.c"]))
chain_prefixes = {"pck.chain", "collateral.tcb_info.chain", "collateral.qe_identity.chain"}
for prefix in chain_prefixes:
    codes.discard(prefix)
    for p in problems:
        codes.add(prefix + "." + p)
# GPU evidence (nv_*.c): nv_reason(res, CODE, ...), the parser's bad(r, err, CODE, ...) and
# SET_CODE(CODE); "gpu.rim.%s.X" for both RIMs; the chain checker's "<prefix>.<problem>".
for name, text in src.items():
    if not name.startswith("nv_"):
        continue
    codes.update(re.findall(r'\bnv_reason\(\s*[^,"]+,\s*"([^"]+)"', text))
    codes.update(re.findall(r'\bbad\(\s*r,\s*err,\s*"([^"]+)"', text))
    codes.update(re.findall(r'\bSET_CODE\(\s*"([^"]+)"', text))
    for c in re.findall(r'"(gpu\.rim\.%s\.[a-z_]+)"', text):
        for k in ("driver", "vbios"):
            codes.add(c.replace("%s", k))
nv_fn = re.search(r"static const char \*suffix_of\(int e\)\s*\{(.*?)\n\}", src["nv_x509.c"], re.S)
nv_problems = set(re.findall(r'return "([a-z_]+)";', nv_fn.group(1) if nv_fn else ""))
nv_problems.update(re.findall(r'"%s\.([a-z_]+)"', src["nv_x509.c"]))
if len(nv_problems) < 6:
    sys.exit("FAIL: found only %d GPU chain problems: the source scan is broken" % len(nv_problems))
for prefix in ("gpu.chain", "gpu.rim.driver.chain", "gpu.rim.vbios.chain"):
    codes.discard(prefix)
    for p in nv_problems:
        codes.add(prefix + "." + p)
codes = {c for c in codes if shape.match(c)}
if len(codes) < 80 or len(problems) < 8:
    sys.exit("FAIL: found only %d codes, %d chain problems: the source scan is broken" % (len(codes), len(problems)))

def documented(c):
    if "`%s`" % c in doc:
        return True
    # a row naming several codes of one family: "`pck.chain.crl_expired` / `crl_not_yet_valid`"
    # or "`snp.tcb.mismatch.bootloader` / `.tee`"
    head, last = c.rsplit(".", 1)
    for line in doc.splitlines():
        if ("`%s." % head) in line and ("`%s`" % last in line or "`.%s`" % last in line):
            return True
    # the TCB signing chains: "`collateral.tcb_info.chain.*`", same problems as pck.chain.*
    for prefix in ("gpu.rim.driver.chain.", "gpu.rim.vbios.chain."):
        if c.startswith(prefix):
            return "`%s*`" % prefix in doc and documented("gpu.chain." + c[len(prefix):])
    for prefix in ("collateral.tcb_info.chain.", "collateral.qe_identity.chain."):
        if c.startswith(prefix):
            return "`%s*`" % prefix in doc and documented("pck.chain." + c[len(prefix):])
    return False

missing = sorted(c for c in codes if not documented(c))
for c in missing:
    print("FAIL: reason code %s is not documented" % c, file=sys.stderr)
if missing:
    sys.exit(1)
print("ok: %d reason codes documented" % len(codes))
PY
