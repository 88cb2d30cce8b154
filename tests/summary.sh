#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sums the results of one or more build trees' `make check`: each Check
# program counts its own checks, every other test counts once. Prints the
# failing tests' logs and ends with "N passed, N failed, N skipped".
set -u
passed=0 failed=0 skipped=0
for dir in "$@"; do
        label=$(basename "$dir")
        while IFS= read -r trs; do
                log=${trs%.trs}.log
                name=${trs#"$dir"/}
                result=$(sed -n 's/^:test-result: //p' "$trs" | head -n1)
                line=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" 2>/dev/null | tail -n1)
                if [ -n "$line" ]; then
                        n=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
                        f=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$line")
                        e=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
                        bad=$((f + e))
                        [ "$result" != PASS ] && [ $bad -eq 0 ] && bad=1
                        passed=$((passed + n - (bad > n ? n : bad)))
                        failed=$((failed + bad))
                else
                        case "$result" in
                        PASS|XFAIL) passed=$((passed + 1)) ;;
                        SKIP) skipped=$((skipped + 1)); echo "SKIP [$label] $name: $(tail -n1 "$log")" ;;
                        *) failed=$((failed + 1)) ;;
                        esac
                fi
                if [ "$result" != PASS ] && [ "$result" != SKIP ] && [ "$result" != XFAIL ]; then
                        echo "FAIL [$label] $name"
                        sed 's/^/    /' "$log" | tail -n 40
                fi
        done < <(find "$dir/tests" -name '*.trs' | sort)
done
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
