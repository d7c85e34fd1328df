#!/usr/bin/env python3
"""CPU per thread group of the Sluice server and the load generator, every 5 s, for DURATION seconds.

    python3 bench/cpu-by-thread.py 1100 > cpu.log &   # then start bench/run.sh or bench/overload.sh

Finds the JVMs running quarkus-run.jar ("srv") and sluice-bench.jar ("gen") afresh at each sample, reads
utime + stime of every thread from /proc/<pid>/task/*/stat, groups threads by name with digits removed
(sluice-run-* = model instances, vert.x-eventloop-*, C2 CompilerThread*, ...) and prints the cores each
group used over the last interval, the top five per process. Linux only; reads /proc, changes nothing.
"""
import collections
import os
import re
import sys
import time

INTERVAL = 5.0


def jvms():
    found = {}
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            args = open(f'/proc/{pid}/cmdline', 'rb').read().split(b'\0')
        except OSError:
            continue
        if not os.path.basename(args[0].decode()).startswith('java'):
            continue  # a wrapper such as timeout or nice whose arguments name the jar
        cmd = b' '.join(args).decode()
        if 'quarkus-run.jar' in cmd:
            found[pid] = 'srv'
        elif 'sluice-bench.jar' in cmd:
            found[pid] = 'gen'
    return found


def ticks(pid):
    out = {}
    try:
        tids = os.listdir(f'/proc/{pid}/task')
    except OSError:
        return out
    for tid in tids:
        try:
            stat = open(f'/proc/{pid}/task/{tid}/stat').read()
        except OSError:
            continue
        name = stat[stat.index('(') + 1:stat.rindex(')')]
        fields = stat[stat.rindex(')') + 2:].split()
        out[tid] = (re.sub(r'[0-9]+', '#', name), int(fields[11]) + int(fields[12]))
    return out


def main():
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 600
    hz = os.sysconf('SC_CLK_TCK')
    previous = None
    start = time.time()
    while time.time() - start < duration:
        procs = jvms()
        now = {pid: ticks(pid) for pid in procs}
        at = time.time()
        if previous:
            line = [time.strftime('%H:%M:%S')]
            for pid, kind in procs.items():
                if pid not in previous[1]:
                    continue
                groups = collections.Counter()
                for tid, (name, t) in now[pid].items():
                    groups[name] += (t - previous[1][pid].get(tid, (name, 0))[1]) / hz / (at - previous[0])
                top = ' '.join(f'{n[:10]}={c:.3f}' for n, c in groups.most_common(5) if c > 0.004)
                line.append(f'{kind} {sum(groups.values()):.2f} [{top}]')
            print(' | '.join(line), flush=True)
        previous = (at, now)
        time.sleep(INTERVAL)


if __name__ == '__main__':
    main()
