# bench/documents.sh, sourced by bench/run: API Entreprise's document path (issue 16).
#
# A gateway of its own, pinned like the main one (TOKIO_WORKER_THREADS=1, CPU 0; load
# and simulator on CPU 1), serving URSSAF's attestation de vigilance (v4) from the
# simulator's attestation of about 100 KB (every SIREN 998…): the PDF fetched (base64
# in a JSON answer), decoded, read (security code, date), stored in the data folder's
# object store, and linked. Then the stored documents downloaded through their signed
# links. For each, at c=1 and at c=C: calls/s, latency, the gateway's CPU per call and
# its resident memory, idle and peak (the kernel's high-water mark, reset before each
# run), and what the peak adds per concurrent call against the PDF's size.
# Uses bench/run's helpers and variables (BIN, WORK, SIM, start_gateway_on, wait_idle…)
# and sets DOCUMENTS_LINE for its summary.

DOC_LUA=$ROOT/bench/wrk/documents.lua
DOC_RECIPIENT=13002526500013
DOC_PATH="/v4/urssaf/unites_legales/{siren}/attestation_vigilance?context=Benchmark&recipient=$DOC_RECIPIENT&object=Benchmark"
DOCUMENTS_LINE=""

doc_status() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; } # PID VmRSS|VmHWM|Threads
doc_mb() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }

# One measured run (after the warm-up) of wrk with documents.lua at C connections, the
# gateway's high-water mark reset first. Sets DOC_LINE; DOC_IDLE, DOC_PEAK and DOC_AFTER
# (resident kB before the warm-up, at most during it and the run, at the end); DOC_CPU
# (µs per call); DOC_THREADS (the most threads seen: the runtime's blocking pool grows
# with the file operations in flight); DOC_OTHER (% of CPU 0 other work took).
doc_run() { # CONNECTIONS NAME [ENV=VALUE...]
    local c=$1 name=$2 t0 t1 c0 c1 busy0 reset=1 sampled
    shift 2
    wait_idle
    DOC_IDLE=$(doc_status "$GW_PID" VmRSS)
    sampled=$(wc -l <"$WORK/doc-rss.log")
    # 5: the peak resident size becomes the current one (Linux >= 4.0).
    echo 5 >"/proc/$GW_PID/clear_refs" 2>/dev/null || reset=0
    env "$@" BENCH_PATH="$DOC_PATH" timeout $((WARMUP + 30)) taskset -c 1 \
        wrk -t 1 -c "$c" -d "${WARMUP}s" -s "$DOC_LUA" "http://$DOC_GW" >"$WORK/doc-$name-warm.out" 2>&1 \
        || die "wrk failed: $(tail -5 "$WORK/doc-$name-warm.out")"
    t0=$(proc_ticks "$GW_PID") c0=$(cpu_snapshot)
    env "$@" BENCH_PATH="$DOC_PATH" timeout $((DURATION + 30)) taskset -c 1 \
        wrk -t 1 -c "$c" -d "${DURATION}s" --latency -s "$DOC_LUA" "http://$DOC_GW" >"$WORK/doc-$name.out" 2>&1 \
        || die "wrk failed: $(tail -5 "$WORK/doc-$name.out")"
    c1=$(cpu_snapshot) t1=$(proc_ticks "$GW_PID")
    read -r busy0 _ <<<"$(busy_pct "$c0" "$c1")"
    DOC_OTHER=$(awk -v b="$busy0" -v t=$((t1 - t0)) -v d="$DURATION" -v hz="$(getconf CLK_TCK)" 'BEGIN{o = b - 100*t/hz/d; printf "%.0f", o < 0 ? 0 : o}')
    DOC_LINE=$(grep '^WRK ' "$WORK/doc-$name.out") || die "no result from wrk: $(tail -5 "$WORK/doc-$name.out")"
    if [ $reset = 1 ]; then
        DOC_PEAK=$(doc_status "$GW_PID" VmHWM)
    else # no reset: the largest sample (every 0.1 s) of this run
        DOC_PEAK=$(tail -n +$((sampled + 1)) "$WORK/doc-rss.log" | sort -n | tail -1 | cut -d' ' -f1)
    fi
    DOC_THREADS=$(tail -n +$((sampled + 1)) "$WORK/doc-rss.log" | cut -d' ' -f2 | sort -n | tail -1)
    DOC_AFTER=$(doc_status "$GW_PID" VmRSS)
    DOC_CPU=$(awk -v t=$((t1 - t0)) -v n="$(kv "$DOC_LINE" calls)" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.0f", n ? t/hz*1e6/n : 0}')
}

# Starts the documents' gateway on the data folder DIR (again: the link-signing secret
# is kept in its store), sets DOC_GW, and samples its memory every 0.1 s.
doc_start() { # DIR
    PASSERELLE_ENTREPRISE__URSSAF__BASE_URL="http://$SIM/urssaf" PASSERELLE_DOCUMENTS__DOWNLOADS_PER_MINUTE=600000000 \
        start_gateway_on documents --data-dir "$1"
    DOC_GW=""
    for _ in $(seq 50); do
        DOC_GW=$(sed -n 's/.*Entreprise listening on http:\/\/\([0-9.:]*\).*/\1/p' "$WORK/documents.out" | head -1)
        [ -z "$DOC_GW" ] || break
        sleep 0.1
    done
    [ -n "$DOC_GW" ] || die "no API Entreprise listener: $(cat "$WORK/documents.out")"
    : >"$WORK/doc-rss.log"
    (while kill -0 "$GW_PID" 2>/dev/null; do
        echo "$(doc_status "$GW_PID" VmRSS) $(doc_status "$GW_PID" Threads)" >>"$WORK/doc-rss.log"; sleep 0.1
    done) &
    PIDS+=("$!")
}

doc_stop() {
    kill -TERM "$GW_PID" 2>/dev/null || true
    wait "$GW_PID" 2>/dev/null || true
}

documents_bench() {
    step "documents: URSSAF's attestation (a PDF of ~100 KB fetched, stored, linked), then its downloads; wrk -d ${DURATION}s at c=1 and c=$CONNECTIONS"
    local dir=$WORK/documents pdf=$WORK/doc-upstream.pdf tokens=$WORK/doc-tokens.txt
    local up_token code pdf_size link count i heap

    cargo build --release -q -p passerelle-entreprise-providers --example document_memory >"$WORK/doc-build.out" 2>&1 \
        || die "could not build the document_memory example: $(tail -20 "$WORK/doc-build.out")"
    # The simulator's document, straight from it: what every download must give back.
    up_token=$(curl -sf -d client_id=passerelle-demo -d client_secret=demo-secret-urssaf -d grant_type=client_credentials \
        -d scope=attn.api_entreprise "http://$SIM/urssaf/api/oauth/v1/token" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
    [ -n "$up_token" ] || die "no access token from URSSAF's simulator"
    curl -sf -H "Authorization: Bearer $up_token" -H 'Content-Type: application/json' \
        -d "{\"typeAttestation\":\"AVG_UR\",\"siren\":\"998000004\",\"idClient\":\"bench\",\"beneficiaire\":\"$DOC_RECIPIENT\"}" \
        "http://$SIM/urssaf/attn/entreprise/v1/demandes/api_entreprise" >"$WORK/doc-upstream.b64" || die "URSSAF's simulator did not answer"
    base64 -d "$WORK/doc-upstream.b64" >"$pdf" && head -c 5 "$pdf" | grep -q '%PDF-' || die "the simulator's attestation is not a PDF"
    pdf_size=$(stat -c %s "$pdf")

    # API Entreprise allows a token 100 attestations a minute (GCRA: a burst of 100):
    # enough tokens for the two attestation runs at up to 3 000 calls/s (a 429 would show
    # in the statuses).
    count=$(( (3000 * 2 * (WARMUP + DURATION) + 99) / 100 ))
    : >"$tokens"
    for i in $(seq "$count"); do
        "$BIN" token issue --data-dir "$dir" --bouquet entreprise --name "bench-documents-$i" --siret "$DOC_RECIPIENT" \
            --scopes all >"$WORK/doc-token.out" 2>&1 || die "token issue failed: $(cat "$WORK/doc-token.out")"
        tail -1 "$WORK/doc-token.out" >>"$tokens"
    done

    doc_start "$dir"

    # One call by hand: a 200 saying what the PDF says, whose link gives the same bytes.
    code=$(curl -s -o "$WORK/doc-check.json" -w '%{http_code}' -H "Authorization: Bearer $(head -1 "$tokens")" \
        "http://$DOC_GW${DOC_PATH//\{siren\}/998000004}")
    [ "$code" = 200 ] && grep -q '"code_securite":"BNCH100KB7Q4XZ2"' "$WORK/doc-check.json" \
        || die "attestation: expected 200 with the security code, got $code $(head -c 500 "$WORK/doc-check.json")"
    link=$(sed -n 's/.*"document_url":"\([^"]*\)".*/\1/p' "$WORK/doc-check.json")
    curl -sf -o "$WORK/doc-check.pdf" "$link" && cmp -s "$pdf" "$WORK/doc-check.pdf" \
        || die "the link $link does not give the simulator's PDF back"
    say "the PDF: $pdf_size bytes ($(stat -c %s "$WORK/doc-upstream.b64") in base64 from the simulator); one call checked: 200, security code read, its link gives the same bytes; $count tokens"

    local -A LINE IDLE PEAK AFTER CPU THREADS OTHER
    local run mode c
    for run in "attest 1" "attest $CONNECTIONS" "download 1" "download $CONNECTIONS"; do
        read -r mode c <<<"$run"
        if [ "$mode" = attest ]; then
            doc_run "$c" "attest-c$c" BENCH_TOKENS="$tokens" BENCH_LINKS_OUT="$WORK/doc-links-$c.txt"
        else
            [ -s "$WORK/doc-links-$CONNECTIONS.txt" ] || die "no document link to download"
            # A fresh gateway for the downloads, so that what the attestations left in
            # its memory does not count.
            [ "$c" != 1 ] || { doc_stop; doc_start "$dir"; }
            doc_run "$c" "download-c$c" BENCH_LINKS_IN="$WORK/doc-links-$CONNECTIONS.txt" BENCH_PDF_BYTES="$pdf_size"
        fi
        LINE[$run]=$DOC_LINE IDLE[$run]=$DOC_IDLE PEAK[$run]=$DOC_PEAK AFTER[$run]=$DOC_AFTER CPU[$run]=$DOC_CPU THREADS[$run]=$DOC_THREADS OTHER[$run]=$DOC_OTHER
        local l=${LINE[$run]} what
        if [ "$mode" = attest ]; then
            what="links well-formed $(kv "$l" links_ok), bad $(kv "$l" links_bad)"
        else
            what=$(awk -v ok="$(kv "$l" bodies_ok)" -v bad="$(kv "$l" bodies_bad)" -v n="$(kv "$l" calls)" -v links="$(kv "$l" links_total)" \
                -v size="$pdf_size" -v d="$DURATION" -v bytes="$(kv "$l" bytes)" \
                'BEGIN{printf "%.1f MB/s of PDF (%.1f MB/s on the wire), bodies the PDF %d, not %d, links covered %d of %d", ok*size/d/1e6, bytes/d/1e6, ok, bad, (n < links ? n : links), links}')
        fi
        say "$(printf '%-8s c=%-3s %6s calls/s  p50 %7s ms  p99 %7s ms  CPU/call %5s µs  other work on CPU0 %3s%%  RSS idle %5s peak %5s after %5s MB  threads %3s  statuses %s  %s' \
            "$mode" "$c" "$(kv "$l" rps)" "$(kv "$l" p50_ms)" "$(kv "$l" p99_ms)" "${CPU[$run]}" "${OTHER[$run]}" \
            "$(doc_mb "${IDLE[$run]}")" "$(doc_mb "${PEAK[$run]}")" "$(doc_mb "${AFTER[$run]}")" "${THREADS[$run]}" "$(kv "$l" statuses)" "$what")"
    done

    # What the peak adds per concurrent call: over the idle gateway, and from c=1 to c=C
    # (which leaves out what any load adds once: caches, buffers, the allocator's pages).
    # The heap one call adds, counted by the allocator: no concurrency, no allocator slack.
    heap=$("$TARGET/release/examples/document_memory" 2>"$WORK/doc-heap.err") || die "document_memory failed: $(cat "$WORK/doc-heap.err")"
    say "$(awk -v s="$(kv "$heap" pdf)" -v f="$(kv "$heap" fetch)" -v t="$(kv "$heap" store)" -v d="$(kv "$heap" download)" -v l="$(kv "$heap" largest)" \
        'BEGIN{printf "heap one call adds (document_memory example): fetched %.0f KB (%.2f PDF), stored %.0f KB (%.2f PDF), downloaded %.1f KB; its largest block %.0f KB",
               f/1024, f/s, t/1024, t/s, d/1024, l/1024}')"
    local r c1 cc bad
    for mode in attest download; do
        c1="$mode 1" cc="$mode $CONNECTIONS"
        say "$(awk -v i="${IDLE[$c1]}" -v p1="${PEAK[$c1]}" -v p="${PEAK[$cc]}" -v c="$CONNECTIONS" -v s="$pdf_size" -v m="$mode" \
            'BEGIN{a = (p - i) / c; b = (p - p1) / (c - 1);
                   printf "%-8s per concurrent call: (peak c=%d - idle)/%d = %.0f KB (%.2f PDF), (peak c=%d - peak c=1)/%d = %.0f KB (%.2f PDF)",
                          m, c, c, a, a * 1024 / s, c, c - 1, b, b * 1024 / s}')"
    done
    bad=$(for r in "${!LINE[@]}"; do kv "${LINE[$r]}" statuses; done | tr ',' '\n' | grep -v '^$' | grep -v '^200:' || true)
    [ -z "$bad" ] || say "WARNING: statuses other than 200 in the document runs: $(echo $bad)"
    r="attest $CONNECTIONS" c1="download $CONNECTIONS"
    DOCUMENTS_LINE=$(awk -v a="$(kv "${LINE[$r]}" rps)" -v d="$(kv "${LINE[$c1]}" rps)" -v s="$pdf_size" -v c="$CONNECTIONS" \
        -v i="${IDLE["attest 1"]}" -v pa="${PEAK[$r]}" -v pd="${PEAK[$c1]}" -v p1="${PEAK["attest 1"]}" -v d1="${PEAK["download 1"]}" \
        -v f="$(kv "$heap" fetch)" -v dh="$(kv "$heap" download)" \
        'BEGIN{printf "documents (PDF %d bytes, c=%d): %.0f attestations/s, %.0f downloads/s (%.0f MB/s); RSS idle %.1f MB, peak %.1f MB attesting, %.1f MB downloading; RSS per concurrent call %.0f KB attesting, %.0f KB downloading (c=1 to c=%d); heap of one call %.0f KB (%.2f PDF), of a download %.0f KB",
               s, c, a, d, d*s/1e6, i/1024, pa/1024, pd/1024, (pa-p1)/(c-1), (pd-d1)/(c-1), c, f/1024, f/s, dh/1024}')
    DOCUMENTS_LINE+=" (other work on CPU0: ${OTHER[$r]}% attesting, ${OTHER[$c1]}% downloading)"
    say "$DOCUMENTS_LINE"
    doc_stop
}
