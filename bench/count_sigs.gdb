# gdb script (bench/bench_evidence.sh): counts the signature verifications libcrypto performs
# between the count_begin and count_end markers of bench_evidence in signature-count mode:
# ECDSA_do_verify (every ECDSA verification: certificates, CRLs, collateral, QE report,
# quote, SEV-SNP report) and RSA_public_decrypt (every RSA verification, PKCS#1 v1.5 and
# PSS alike: the SEV-SNP VCEK/ASK/ARK chain). Prints "<case> <ecdsa> <rsa> <verifications>".
set breakpoint pending on
set pagination off
set confirm off
set $on = 0
set $n = 0
set $r = 0
break count_begin
commands
silent
set $n = 0
set $r = 0
set $on = 1
continue
end
break ECDSA_do_verify
commands
silent
if $on
set $n = $n + 1
end
continue
end
break RSA_public_decrypt
commands
silent
if $on
set $r = $r + 1
end
continue
end
break count_end
commands
silent
set $on = 0
printf "%s %d %d %d\n", (char *)bench_label, $n, $r, (int)bench_iters
continue
end
run
quit
