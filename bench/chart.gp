# The chart of make bench (bench/run.lua writes the data and calls this):
#   gnuplot -e "stream_dat='build/bench/stream.dat'; rss_dat='build/bench/rss.dat'; out='build/bench/bench.svg'; \
#               subtitle='<date, machine>'" bench/chart.gp
# stream.dat: "<what>" <µs per event> <colour 1-3> "<where>"; rss.dat: "<events>" <MiB: Lua 5.4> <LuaJIT> <curl>.
# Left: CPU time per streamed text delta (log scale): the in-memory floor and ai.chat on Lua 5.4 and LuaJIT, and
# TanStack's TypeScript chat() on Node. Right: peak RSS of a process doing one stream, against curl, by stream length.
set terminal svg size 1100,520 dynamic enhanced font "Helvetica,13" background rgb "white"
set output out
set encoding utf8
set multiplot layout 1,2 title "make bench — ".subtitle font ",12"

set border 3
set tics nomirror
set grid ytics lc rgb "#dddddd"
set style fill solid 0.9 border -1

# --- left: µs per event, log scale
set title "CPU time per streamed event (lower is better)"
set logscale y 10
set ylabel "µs per text delta (log scale)"
stats stream_dat using 2 nooutput
set yrange [10**floor(log10(STATS_min) - 0.3):*]
set xrange [-0.6:*]
set boxwidth 0.65
set bmargin 5
set xtics scale 0 font ",11"
unset key
set linetype 11 lc rgb "#9e9e9e"
set linetype 12 lc rgb "#1f77b4"
set linetype 13 lc rgb "#d62728"
plot stream_dat using 0:2:($3+10):xtic(strcol(1)."\n".strcol(4)) with boxes lc variable, \
     '' using 0:($2*1.25):(sprintf("%.2f", $2)) with labels font ",11" notitle

# --- right: peak RSS by events per stream
set title "Peak RSS of a process doing one stream"
unset logscale y
set ylabel "MiB"
set xlabel "text deltas in the stream"
set yrange [0:*]
set xrange [*:*]
set bmargin 4
set xtics font ",12"
set key inside top left Left reverse samplen 2
set offsets 0, 0, graph 0.3, 0
set style data histograms
set style histogram clustered gap 1
set boxwidth 0.9 relative
plot rss_dat using 2:xtic(1) title "ai.chat, Lua 5.4" lc rgb "#1f77b4", \
     '' using 3 title "ai.chat, LuaJIT" lc rgb "#ff7f0e", \
     '' using 4 title "curl -s -N -o /dev/null" lc rgb "#9e9e9e"
unset multiplot
