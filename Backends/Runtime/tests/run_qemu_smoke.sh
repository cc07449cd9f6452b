#!/bin/sh
# run_qemu_smoke.sh - proves the QEMU path of the tinyc runtime works:
# builds the smoke model (tests/smoke.c) for the host and for
# qemu-system-arm -M mps2-an386, runs both, and checks that
#   - outputs written through semihosting equal the host build's,
#   - the exit code is the invoke's status (0, and 5 for input[1] == 42),
#     and 2 for a missing input file,
#   - "instructions: N" is the same run after run and grows linearly with
#     the work,
#   - every kernel of the runtime computes the same bits on the Cortex-M4
#     (and on the Cortex-M33 of mps2-an505 and the Cortex-M55 of mps3-an547) as
#     on the host (tests/digest.c: one hash per kernel; the two float kernels
#     that go through libm, expf/tanhf, may differ between C libraries and
#     are only reported),
#   - the SysTick count is 2 per iteration of a 2-instruction loop, also
#     across SysTick wraps (tests/icount_check.c).
# Needs gcc, arm-none-eabi-gcc, libnewlib-arm-none-eabi, qemu-system-arm.
# Ends with "N passed, N failed"; exit status 0 when all passed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
RT=$(dirname "$HERE")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok: $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $1"; }

make -s -C "$RT" host qemu MODEL=smoke BUILD="$WORK/build" || { echo "0 passed, 1 failed"; exit 1; }
make -s -C "$RT" host qemu MODEL=digest BUILD="$WORK/build" || { echo "0 passed, 1 failed"; exit 1; }
make -s -C "$RT" host qemu MODEL=two BUILD="$WORK/build" || { echo "0 passed, 1 failed"; exit 1; }

cd "$WORK" || exit 1
# Inputs: 64 bytes; byte 0 = repetitions of the FC layer, byte 1 = 42 asks for status 5.
i=0
while [ $i -lt 64 ]; do printf "\\$(printf '%03o' $(( (i * 73 + 19) % 256 )))"; i=$((i + 1)); done > base.bin
for r in 0 1 2 3; do
    { printf "\\$(printf '%03o' $r)\\000"; tail -c 62 base.bin; } > in$r.bin
done
{ printf '\001\052'; tail -c 62 base.bin; } > in42.bin

qemu() { # qemu ELF ARGS... (board: $QBOARD) -> stdout+stderr in qemu.log, exit code in $?
    elf=$1; shift
    args=""
    for a in "$@"; do args="$args,arg=$a"; done
    timeout 60 qemu-system-arm -M "${QBOARD:-mps2-an386}" -nographic -icount shift=0 \
        -semihosting-config "enable=on,target=native$args" -kernel "$elf" > qemu.log 2>&1
}

for r in 0 1 2 3; do
    ./build/smoke_host in$r.bin host$r.bin; hrc=$?
    qemu build/smoke.elf smoke in$r.bin qemu$r.bin; qrc=$?
    count=$(sed -n 's/^instructions: //p' qemu.log)
    eval "count$r=\$count"
    if [ $hrc -eq 0 ] && [ $qrc -eq 0 ] && cmp -s host$r.bin qemu$r.bin && [ -n "$count" ]; then
        ok "reps $r: QEMU output equals host output, exit 0, instructions: $count"
    else
        bad "reps $r: host rc $hrc, qemu rc $qrc, $(cat qemu.log)"
    fi
done

qemu build/smoke.elf smoke in1.bin again.bin
again=$(sed -n 's/^instructions: //p' qemu.log)
[ "$again" = "$count1" ] && ok "instruction count deterministic ($again twice)" || bad "count $again vs $count1"

# Each repetition adds the same work (the kernels' data-dependent branches move
# the count by a tick or two of 40 instructions): increments equal within 1%.
d2=$((count2 - count1)); d3=$((count3 - count2)); dd=$((d2 - d3))
[ "$d2" -gt 0 ] && [ $((dd * dd * 10000)) -le $((d2 * d2)) ] && ok "linear in the work: +$d2, +$d3 per repetition" \
    || bad "increments $d2, $d3"

qemu build/smoke.elf smoke in42.bin out42.bin; rc=$?
[ $rc -eq 5 ] && ok "exit code is the invoke's status (5)" || bad "exit code $rc, want 5"
./build/smoke_host in42.bin host42.bin; rc=$?
[ $rc -eq 5 ] && ok "host exit code is the invoke's status (5)" || bad "host exit code $rc, want 5"

qemu build/smoke.elf smoke missing.bin out.bin; rc=$?
[ $rc -eq 2 ] && grep -q "cannot open input missing.bin" qemu.log && ok "missing input: exit 2 with a message" \
    || bad "missing input: rc $rc, $(cat qemu.log)"

# Two inputs, two outputs: arguments are the inputs, then the outputs.
printf '\001\002\003\004\005\006\007\010' > a.bin
printf '\000\000\200\077\000\000\000\100\000\000\100\100\000\000\200\300' > b.bin  # 1, 2, 3, -4
printf '\002\003\004\005\006\007\010\011' > want_a.bin
printf '\000\000\000\100\000\000\200\100\000\000\300\100\000\000\000\301' > want_b.bin  # 2, 4, 6, -8
./build/two_host a.bin b.bin ha.bin hb.bin; hrc=$?
qemu build/two.elf two a.bin b.bin qa.bin qb.bin; qrc=$?
if [ $hrc -eq 0 ] && [ $qrc -eq 0 ] && cmp -s ha.bin want_a.bin && cmp -s hb.bin want_b.bin \
    && cmp -s qa.bin want_a.bin && cmp -s qb.bin want_b.bin; then
    ok "two inputs and two outputs (int8 and float) on host and QEMU"
else
    bad "two-input model: host rc $hrc, qemu rc $qrc"
fi

# Per board: every kernel gives the same bits as on the host (tests/digest.c;
# DIGEST_KERNELS hashes of 4 bytes, the last two from the libm-based float
# kernels), and SysTick counts instructions (tests/icount_check.c).
kernels=$(sed -n 's/^#define DIGEST_KERNELS //p' "$HERE/digest.h")
exact=$((kernels - 2))
nbytes=$((4 * exact))
printf '\001\002\003\004' > seed.bin
./build/digest_host seed.bin digest_host.bin || bad "digest on the host"
for board in mps2-an386 mps2-an505 mps3-an547; do
    case $board in
        mps2-an386) cpu="-mcpu=cortex-m4 -mfpu=fpv4-sp-d16"; hz=25000000; ld=mps2_an386.ld ;;
        mps2-an505) cpu="-mcpu=cortex-m33 -mfpu=fpv5-sp-d16"; hz=20000000; ld=mps2_an505.ld ;;
        mps3-an547) cpu="-mcpu=cortex-m55"; hz=32000000; ld=mps3_an547.ld ;;
    esac
    QBOARD=$board
    make -s -C "$RT" qemu MODEL=digest BOARD=$board BUILD="$WORK/build-$board" || { bad "$board: build"; continue; }
    qemu "$WORK/build-$board/digest.elf" digest seed.bin digest_$board.bin; qrc=$?
    if [ $qrc -eq 0 ] && cmp -s -n $nbytes digest_host.bin digest_$board.bin; then
        ok "$board: $exact kernels bit-identical to the host build"
    else
        bad "$board: kernel digests differ (kernel numbers): $(cmp -l -n $nbytes digest_host.bin digest_$board.bin | awk '{print int(($1-1)/4)+1}' | uniq | tr '\n' ' ')"
    fi
    if ! cmp -s digest_host.bin digest_$board.bin; then
        echo "note: $board: libm-based float kernels (softmax, logistic/tanh f32) differ from glibc's (expected)"
    fi
    # shellcheck disable=SC2086
    arm-none-eabi-gcc -std=c99 -Wall -Wextra -Werror -O2 $cpu -mthumb -mfloat-abi=hard -DTINYC_SYSTICK_HZ=${hz}u \
        -I"$RT/qemu" -nostartfiles -L"$RT/qemu" -T "$RT/qemu/$ld" -o icount_$board.elf "$HERE/icount_check.c" \
        "$RT/qemu/startup.c" "$RT/qemu/tinyc_icount.c" "$RT/qemu/tinyc_semihost.c" -lgcc || { bad "$board: icount build"; continue; }
    qemu icount_$board.elf; rc=$?
    l1=$(sed -n 's/^loop 100000: //p' qemu.log)
    l2=$(sed -n 's/^loop 200000: //p' qemu.log)
    l3=$(sed -n 's/^loop 400000000: //p' qemu.log)
    if [ $rc -eq 0 ] && [ -n "$l1" ] && [ $((l1 - 200000)) -ge 0 ] && [ $((l1 - 200000)) -le 160 ] \
        && [ $((l2 - 400000)) -ge 0 ] && [ $((l2 - 400000)) -le 160 ] \
        && [ $((l3 - 800000000)) -ge 0 ] && [ $((l3 - 800000000)) -le 160 ]; then
        ok "$board: SysTick counts instructions: 2-instruction loop x 1e5 = $l1, x 2e5 = $l2, x 4e8 = $l3"
    else
        bad "$board: icount calibration: rc $rc, $(head -3 qemu.log)"
    fi
done
QBOARD=mps2-an386

echo "$PASS passed, $FAIL failed"
[ $FAIL -eq 0 ]
