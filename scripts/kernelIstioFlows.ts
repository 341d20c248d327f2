// Step 2 of the Istio kernel check (scripts/kernelIstio.ts): every flow of flows.yaml sent for
// real as the first packet of a new connection, one per flow, with a fixed source port so the
// kernel's records of it can be picked out exactly:
// - outbound: from a process in the pod namespace running as the flow's uid/gid (setpriv --reuid
//   --regid --clear-groups), bound to the flow's source; the kernel's route for it must leave by
//   the flow's oif;
// - inbound on lo: from a process in the pod itself (the conventions' app identity);
// - inbound on another interface: from the namespace behind that interface (kernelIstioLab.ts).
// The kernel's outcome and the rules it counted are read from its records (kernelIstioOutcome.ts)
// and must equal the engine's walk of the same packet, and flows.yaml's expectation.
// To keep the counters to the one packet, replies are dropped before the raw table (an nftables
// chain at priority -350: SYN-ACK, RST, ICMP; non-TCP/UDP such as MLD too), the namespaces
// behind the interfaces drop what reaches them, and neighbours are static.
// Each flow is measured behind a gate of its own: from before its "before" snapshot, the pod lets
// into PREROUTING and OUTPUT only TCP/UDP packets of the flow's own connection (its sender's
// address and port, each direction), dropping all others before conntrack and the raw table. An
// earlier flow's connection can still emit packets (a half-open one held by a listener retransmits
// its SYN-ACK 1 s after the SYN, and it gets out while an ESTABLISHED replay lets replies through;
// the peer of an ESTABLISHED replay closes with a FIN), and a packet of it, or the peer's answer to
// it (a RST to the earlier flow's port), would otherwise walk the capture rules inside a later
// flow's window: the kernel then counts rules that flow never hit.
// An ESTABLISHED flow (inbound TCP from a peer) is replayed as the first data segment of a
// connection that was let through the handshake (listeners on the destination and redirect
// ports; the capture's own transparent listener for TPROXY): the rules that segment hits.
// Flows that cannot be reproduced (another protocol or state, a source no namespace can send
// from, a send the kernel refuses) are SKIPPED with the reason and counted, never passed.
import { setTimeout as sleep } from 'node:timers/promises';
import type { IstioCaptureConfig } from '../src/engine/istio/captureRules.ts';
import { walkPodFlow, type CaptureRulesets, type PodFlow, type PodInterfaces } from '../src/engine/istio/captureWalk.ts';
import { inNs, inNsInput, isV6, PEER_DROP, sameAddr, waitLine, type Family, type HelperPrograms, type Lab, type PodLab } from './kernelIstioLab.ts';
import { engineOutcome, kernelOutcome, reachers, sameOutcome, scope, show, type Evidence, type Flow, type PathKind } from './kernelIstioOutcome.ts';
import { parseSave, type Saved } from './kernelIstioRuleOrder.ts';

/** PODPATH_KERNEL_VERBOSE=1: each flow's kernel evidence and counted rules. */
const VERBOSE = !!process.env.PODPATH_KERNEL_VERBOSE;
/** Shell: wait (at most ~1 s) until a packet has passed the pod's PREROUTING, then a little longer for INPUT. */
const AWAIT_PREROUTING = 'for i in $(seq 100); do nft list counter inet ppk seen | grep -q "packets [1-9]" && break; sleep 0.01; done; sleep 0.01';
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface FlowReplay extends PodLab {
  lab: Lab;
  files: HelperPrograms;
  label: string;
  cfg: IstioCaptureConfig;
  rulesets: CaptureRulesets;
  /** The interfaces the walker knows. */
  interfaces: PodInterfaces;
  /** conventions.pod: interface → CIDRs. */
  cidrs: Map<string, string[]>;
  /** The conventions' app identity: who sends the flows that name no uid/gid. */
  app: { uid: number; gid: number };
  flows: Flow[];
  /** iptables-save of the pod after the capture rules were loaded, per family. */
  saved: Record<Family, Saved>;
  fail: (msg: string) => void;
  skip: (reason: string) => void;
  /** Flows on which kernel, engine and flows.yaml agree, counted as they do (kept if a later flow throws). */
  tally: { agreed: number };
}

/** Replay every flow of the case in the lab; the number of flows tried and of those that agree. */
export async function replayFlows(r: FlowReplay): Promise<{ flows: number; agreed: number }> {
  const { lab, pod, behind, files, label, cfg, rulesets, interfaces, cidrs, app, flows, saved, fail, skip, tally } = r;
  // Before the raw table: no replies (SYN-ACK, RST, ICMP errors) and nothing but TCP/UDP in or
  // out, so the counters see only the flow's own packet; at INPUT the marks packets carry; after
  // every PREROUTING table a counter, to know when an arriving packet has been through them.
  const quietRules = ['add rule inet ppk out meta l4proto != { tcp, udp } drop', 'add rule inet ppk out tcp flags & (syn | ack) == syn | ack drop', 'add rule inet ppk out tcp flags & rst == rst drop'];
  inNsInput(
    pod,
    [
      'add table inet ppk',
      'add chain inet ppk out { type filter hook output priority -350 ; }',
      'add chain inet ppk pre { type filter hook prerouting priority -350 ; }',
      'add chain inet ppk in { type filter hook input priority 350 ; }',
      'add set inet ppk marks { type mark ; flags dynamic ; }',
      'add counter inet ppk seen',
      'add chain inet ppk late { type filter hook prerouting priority 350 ; }',
      'add rule inet ppk late meta l4proto { tcp, udp } counter name "seen"',
      ...quietRules,
      'add rule inet ppk pre meta l4proto != { tcp, udp } drop',
      'add rule inet ppk in meta mark != 0 add @marks { meta mark }',
      'add chain inet ppk gatein { type filter hook prerouting priority -400 ; }',
      'add chain inet ppk gateout { type filter hook output priority -400 ; }',
      '',
    ].join('\n'),
    'nft',
    '-f',
    '-',
  );
  // The flow's gate (see the top of the file): one nft transaction, so no packet sees it half made.
  // A flow's sender address and port identify its connection within the case (the ports are
  // 40000 + the flow's index unless flows.yaml gives one); NAT in this namespace rewrites only the
  // destination (REDIRECT, TPROXY), so the sender side matches its packets in either hook.
  const gate = (fam: Family, src: string, sport: number) => {
    const ip = fam === '6' ? 'ip6' : 'ip';
    const lines = ['flush chain inet ppk gatein', 'flush chain inet ppk gateout'];
    for (const chain of ['gatein', 'gateout']) {
      lines.push(
        `add rule inet ppk ${chain} meta l4proto { tcp, udp } ${ip} saddr ${src} th sport ${sport} accept`,
        `add rule inet ppk ${chain} meta l4proto { tcp, udp } ${ip} daddr ${src} th dport ${sport} accept`,
        `add rule inet ppk ${chain} meta l4proto { tcp, udp } drop`,
      );
    }
    inNsInput(pod, lines.join('\n') + '\n', 'nft', '-f', '-');
  };
  const quiet = (on: boolean) => {
    inNs(pod, 'nft', 'flush', 'chain', 'inet', 'ppk', 'out');
    if (on) inNsInput(pod, quietRules.join('\n') + '\n', 'nft', '-f', '-');
    for (const { ns } of behind.values()) {
      inNs(ns, 'nft', 'flush', 'chain', 'inet', 'ppq', 'pre');
      if (on) inNsInput(ns, `${PEER_DROP}\n`, 'nft', '-f', '-');
    }
  };
  // Transparent listeners on the TPROXY ports (each family whose rules have them).
  const listenerPorts = new Set<string>();
  const listen = async (fam: Family, port: number, transparent: boolean): Promise<string | undefined> => {
    const key = `${fam}:${port}`;
    if (listenerPorts.has(key)) return undefined;
    const p = lab.spawn(pod, ['perl', files.listenPl, fam, String(port), ...(transparent ? ['transparent'] : [])]);
    let err = '';
    p.stderr?.on('data', (d: string) => (err += d));
    if (!(await waitLine(p, 'ready', 5000))) return `listener on ${port} (IPv${fam}) did not start: ${err.trim() || 'no answer'}`;
    listenerPorts.add(key);
    return undefined;
  };
  const portsOf = (fam: Family, re: RegExp) =>
    [...saved[fam].values()].flatMap((t) => [...t.values()].flat()).flatMap((r) => [...r.text.matchAll(re)].map((m) => Number(m[1])));
  for (const fam of ['4', '6'] as Family[]) {
    for (const port of new Set(portsOf(fam, /--on-port (\d+)/g))) {
      const problem = await listen(fam, port, true);
      if (problem) fail(`${label}: ${problem}`);
    }
  }

  const reach: Record<Family, ReturnType<typeof reachers>> = { '4': reachers(saved['4']), '6': reachers(saved['6']) };
  const order = flows.map((f, i) => ({ f, i })).sort((a, b) => Number(!!a.f.ctstate) - Number(!!b.f.ctstate));
  let caseFlows = 0;
  let caseSkips = 0;
  let excludedChains = 0;
  for (const { f, i } of order) {
    caseFlows++;
    const fam: Family = isV6(f.dst) ? '6' : '4';
    const sport = f.sport ?? 40000 + i;
    const skipFlow = (reason: string, detail = '') => {
      caseSkips++;
      skip(reason);
      console.log(`SKIP ${label}: flow "${f.name}": ${reason}${detail ? ` (${detail})` : ''}`);
    };
    // What can be replayed here.
    if (f.proto !== 'tcp' && f.proto !== 'udp') {
      skipFlow(`protocol ${f.proto} is not sent by this check`);
      continue;
    }
    if (isV6(f.src) !== isV6(f.dst)) {
      skipFlow('source and destination of different families');
      continue;
    }
    if (f.ctstate && f.ctstate !== 'NEW' && !(f.ctstate === 'ESTABLISHED' && f.proto === 'tcp' && f.direction === 'inbound' && f.iif && f.iif !== 'lo')) {
      skipFlow(`conntrack state ${f.ctstate} is replayed only for inbound TCP from a peer`);
      continue;
    }
    const established = f.ctstate === 'ESTABLISHED';
    const kind: PathKind = f.direction === 'outbound' ? (f.oif === 'lo' ? 'out-lo' : 'out') : (f.iif ?? 'eth0') === 'lo' ? 'in-lo' : 'in';
    const local = (a: string) => a === '::1' || a.startsWith('127.') || [...cidrs.values()].flat().some((c) => sameAddr(c.split('/')[0]!, a)) || (cfg.EnableIPv6 && sameAddr(a, '::6'));
    let senderNs: string;
    let who: string[] = [];
    if (kind === 'in') {
      const b = behind.get(f.iif ?? 'eth0');
      if (!b) {
        skipFlow(`no namespace behind ${f.iif}`);
        continue;
      }
      if (local(f.src)) {
        skipFlow('an inbound source that is the pod\'s own address cannot arrive from a peer');
        continue;
      }
      if (!b.podAddrs.some((a) => isV6(a) === isV6(f.dst))) {
        skipFlow(`${f.iif} has no IPv${fam} address to route the packet to`);
        continue;
      }
      senderNs = b.ns;
    } else {
      if (!local(f.src)) {
        skipFlow('the source is not an address of the pod');
        continue;
      }
      if (kind === 'in-lo' && !local(f.dst)) {
        skipFlow('a packet to a non-local address does not come back in on lo');
        continue;
      }
      senderNs = pod;
      const id = { uid: f.uid ?? app.uid, gid: f.gid ?? app.gid };
      who = ['setpriv', `--reuid=${id.uid}`, `--regid=${id.gid}`, '--clear-groups'];
    }

    // The engine: the same packet (with the source port the kernel's is sent from); its proto and
    // ctstate are PodFlow's by now, the others having been skipped above.
    const podFlow: PodFlow = { ...f, proto: f.proto as PodFlow['proto'], ctstate: f.ctstate as PodFlow['ctstate'], sport };
    const engine = walkPodFlow(rulesets, podFlow, interfaces);
    // From here on only this flow's packets reach the pod's rules.
    gate(fam, f.src, sport);

    const save = fam === '6' ? 'ip6tables-save' : 'iptables-save';
    // After the packet: the counters, conntrack, the half-open connections, the marks at INPUT.
    const snapshot = `${save} -c; echo @@; conntrack -L -f ipv${fam} -p ${f.proto} 2>/dev/null; echo @@; ss -Htn state syn-recv; echo @@; nft list set inet ppk marks`;
    let before: Saved;
    let afterText: string[];
    if (!established) {
      // One shell in the pod per flow: the route the kernel picks (outbound), the counters
      // before, the packet, the records after.
      const send = [...(senderNs === pod ? [] : ['ip', 'netns', 'exec', senderNs]), 'timeout', '5', ...who, 'perl', files.sendPl, f.proto, f.src, String(sport), f.dst, String(f.dport)].map(quote).join(' ');
      const parts = inNs(
        pod,
        'sh',
        '-c',
        [
          f.direction === 'outbound' ? `ip ${fam === '6' ? '-6 ' : ''}route get ${quote(f.dst)} from ${quote(f.src)} 2>&1` : 'true',
          'echo @@',
          `conntrack -F >/dev/null 2>&1; conntrack -F -f ipv6 >/dev/null 2>&1; nft flush set inet ppk marks; nft reset counter inet ppk seen >/dev/null; ${save} -c`,
          'echo @@',
          `${send} 2>&1; echo "exit $?"`,
          'echo @@',
          // An arriving packet (from a peer, or looped over lo) is handled in softirq; what a
          // process sends out is handled in its own system call.
          f.direction === 'inbound' ? AWAIT_PREROUTING : 'true',
          snapshot,
        ].join('\n'),
      ).split('@@\n');
      // Outbound: the kernel's route must leave where the walker's packet leaves.
      if (f.direction === 'outbound') {
        const out = engine.walk.packet.outIface;
        const dev = /\bdev (\S+)/.exec(parts[0]!)?.[1] ?? `(no route: ${parts[0]!.trim()})`;
        if (dev !== out) {
          fail(`${label}: flow "${f.name}": the kernel routes ${f.src} → ${f.dst} via ${dev}, the walker's packet leaves by ${out}`);
          continue;
        }
      }
      const sent = /exit (\d+)\s*$/.exec(parts[2] ?? '');
      if (sent?.[1] !== '0') {
        skipFlow('the kernel refused to send it', (parts[2] ?? '').replace(/exit \d+\s*$/, '').trim().split('\n').join(' / '));
        continue;
      }
      before = parseSave(parts[1] ?? '');
      afterText = parts.slice(3);
    } else {
      // Let the handshake through: listeners on the destination and the redirect ports.
      const problems: string[] = [];
      for (const port of new Set([f.dport, ...portsOf(fam, /--to-ports? (\d+)/g)])) {
        const p = await listen(fam, port, false);
        if (p) problems.push(p);
      }
      if (problems.length) {
        skipFlow('no listener for the handshake', problems.join('; '));
        continue;
      }
      quiet(false);
      try {
        inNs(pod, 'sh', '-c', 'conntrack -F >/dev/null 2>&1; conntrack -F -f ipv6 >/dev/null 2>&1; true');
        const p = lab.spawn(senderNs, ['timeout', '10', 'perl', files.sendPl, f.proto, f.src, String(sport), f.dst, String(f.dport), 'established']);
        let err = '';
        p.stderr?.on('data', (d: string) => (err += d));
        if (!(await waitLine(p, 'up', 5000))) {
          fail(`${label}: flow "${f.name}": the connection to replay an ESTABLISHED packet on was not established (${err.trim() || 'no answer'})`);
          p.kill('SIGKILL');
          continue;
        }
        await sleep(50);
        before = parseSave(inNs(pod, 'sh', '-c', `nft flush set inet ppk marks; nft reset counter inet ppk seen >/dev/null; ${save} -c`));
        const sent = waitLine(p, 'sent', 5000);
        p.stdin?.write('go\n');
        if (!(await sent)) {
          fail(`${label}: flow "${f.name}": the data segment was not sent (${err.trim() || 'no answer'})`);
          p.kill('SIGKILL');
          continue;
        }
        afterText = inNs(pod, 'sh', '-c', `${AWAIT_PREROUTING}; ${snapshot}`).split('@@\n');
        p.stdin?.end('bye\n');
      } finally {
        quiet(true);
      }
    }
    const marks = [...(afterText[3] ?? '').matchAll(/0x([0-9a-f]+)/g)].map((m) => parseInt(m[1]!, 16));
    const ev: Evidence = { before, after: parseSave(afterText[0] ?? ''), conntrack: afterText[1] ?? '', synRecv: afterText[2] ?? '', marks };
    const hook = f.direction === 'inbound' ? 'PREROUTING' : 'OUTPUT';
    const { own, shared } = scope(reach[fam], hook, kind, established);
    excludedChains += shared.size;
    const k = kernelOutcome(f, sport, kind, own, ev);
    const e = engineOutcome(engine);
    const engineHits = engine.walk.steps.filter((s) => s.matched && own.has(`${s.table} ${s.chain}`));
    const kernelKeys = new Set(k.hits.map((h) => h.key));
    const engineKeys = new Set(engineHits.map((s) => `${s.table} ${s.chain} #${s.ruleNumber}`));
    // An ESTABLISHED replay also makes the pod ACK the segment. In TPROXY mode that ACK carries the
    // connection's mark 1337 (CONNMARK --restore-mark), so Istio's policy route (table 133: local
    // 0.0.0.0/0 dev lo) loops it over lo, where it meets the "-i lo" rules of mangle PREROUTING
    // — whether that happens inside the measuring window is timing. A packet that arrived on
    // another interface cannot match "-i lo": such counts are the ACK's, not the flow's.
    const mine = (h: { text: string }) => !(established && (f.iif ?? 'eth0') !== 'lo' && / -i lo /.test(` ${h.text.slice(h.text.indexOf(': ') + 2)} `));
    const onlyKernel = k.hits.filter((h) => mine(h) && !engineKeys.has(h.key)).map((h) => `${h.key} (${h.text})`);
    const onlyEngine = engineHits.filter((s) => !kernelKeys.has(`${s.table} ${s.chain} #${s.ruleNumber}`)).map((s) => `${s.table} ${s.chain} #${s.ruleNumber} (${s.text})`);
    const problems: string[] = [];
    if (!sameOutcome(k.outcome, e)) problems.push(`the kernel gave ${show(k.outcome)}, the engine ${show(e)}`);
    if (onlyKernel.length || onlyEngine.length) problems.push(`rules counted by the kernel only: [${onlyKernel.join('; ')}], matched by the engine only: [${onlyEngine.join('; ')}]`);
    if (!problems.length && !sameOutcome(k.outcome, f.expected)) problems.push(`the kernel and the engine give ${show(k.outcome)}, flows.yaml expects ${show(f.expected)}`);
    if (VERBOSE) console.log(`     ${f.name}: kernel ${show(k.outcome)} (${k.why}); counted [${k.hits.map((h) => h.key).join(', ')}]${shared.size ? `; left out: ${[...shared].join(', ')}` : ''}`);
    if (problems.length) {
      fail(`${label}: flow "${f.name}" (${f.proto} ${f.src} → ${f.dst}:${f.dport}${f.ctstate ? ` ${f.ctstate}` : ''}): ${problems.join('; ')}${k.notes.length ? ` [${k.notes.join('; ')}]` : ''}`);
    } else tally.agreed++;
  }
  const failedFlows = caseFlows - tally.agreed - caseSkips;
  if (!failedFlows) {
    console.log(`ok   ${label}: ${tally.agreed} flows agree${caseSkips ? `, ${caseSkips} skipped` : ''}${excludedChains ? ` (${excludedChains} chain(s) reached from two hooks left out of the rule comparison)` : ''}`);
  }
  return { flows: caseFlows, agreed: tally.agreed };
}
