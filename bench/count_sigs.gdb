# gdb script (bench/bench_evidence.sh): counts libcrypto ECDSA_do_verify calls, every ECDSA
# verification OpenSSL performs (certificates, CRLs, the collateral and quote signatures),
# between the count_begin and count_end markers of bench_evidence in signature-count mode.
set breakpoint pending on
set pagination off
set confirm off
set $on = 0
set $n = 0
break count_begin
commands
silent
set $n = 0
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
break count_end
commands
silent
set $on = 0
printf "%s %d %d\n", (char *)bench_label, $n, (int)bench_iters
continue
end
run
quit
