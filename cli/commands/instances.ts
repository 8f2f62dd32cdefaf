/**
 * `bootwarden instances` (the VMs with their integrity status) and `bootwarden relearn` (an
 * operator's relearn, with the workflow's checks): Compute through the official client, joined with
 * what bootwarden recorded of each VM in Firestore.
 */
import { computeRequestId, instanceStateId } from '../../core/contracts.js';
import { BootwardenError } from '../../core/errors.js';
import { ZONE } from '../../core/parse.js';
import type { InstanceRef } from '../../core/event.js';
import type { InstanceOverview } from '../../adapters/gcp/firestore-stores.js';
import type { InstanceView } from '../../adapters/gcp/compute-instances.js';
import { flag, parse, stringOption } from '../args.js';
import { table } from '../format.js';
import { EXIT, type CommandIo } from '../io.js';
import { openOperations, projectOf } from '../operations.js';

const ENVIRONMENT = `Needs GOOGLE_CLOUD_PROJECT (or --project); reads BOOTWARDEN_COLLECTION_PREFIX,
FIRESTORE_EMULATOR_HOST and, against the local stack, BOOTWARDEN_COMPUTE_API_URL.`;

export const INSTANCES_HELP = `Usage: bootwarden instances --zone <zone> [--zone <zone>...] [--filter <expr>] [--json]

The VMs of the zones with their integrity status as bootwarden saw it: the last decision on a
report (and when), the latest boot seen, and whether bootwarden stopped or held the VM, relearned
it, or is asking operators about it (approval pending).

Options:
  --zone <zone>          a zone to list (repeat for more)
  --filter <expr>        Compute's list filter, e.g. 'labels.env = prod' or 'status = TERMINATED'
  --project <id>         default: $GOOGLE_CLOUD_PROJECT
  --json                 machine-readable output
  -h, --help             show this help

${ENVIRONMENT}
Exit status: 0 done, 1 failure (an API refused or is unavailable), 64 usage error.
`;

export const RELEARN_HELP = `Usage: bootwarden relearn <instance name> --zone <zone> [--project <id>]

Relearns the VM's Shielded VM integrity policy: the policy becomes the measurements of its most
recent boot (setShieldedInstanceIntegrityPolicy, updateAutoLearnPolicy). The checks of the
response workflow come first; the relearn is refused when:
  - the VM is not RUNNING (Compute relearns only a running VM's most recent boot);
  - bootwarden has seen no boot report of it, or the VM started again after the latest one it
    saw (the boot it would bless is one nobody has looked at: wait for its late-boot report);
    "started" is Compute's lastStartTimestamp, which a reboot from inside the guest leaves as it is;
  - operators are being asked about it in Slack (decide there).
The relearn is recorded on the VM's state in Firestore (who, when, which boot), and the request id
is derived from the VM and its boot, so running the command twice relearns once.

Options:
  --zone <zone>          the VM's zone
  --project <id>         default: $GOOGLE_CLOUD_PROJECT
  -h, --help             show this help

${ENVIRONMENT}
Exit status: 0 relearned, 1 refused or failed (the reason is printed), 64 usage error.
`;

/** One `--zone` value, checked (a zone such as us-central1-a). */
function checkedZone(command: string, zone: string | undefined): string {
  if (zone === undefined || !ZONE.test(zone))
    throw new BootwardenError(
      'usage',
      `${command}: --zone takes a zone such as us-central1-a${zone === undefined ? '' : `, got ${JSON.stringify(zone)}`}`,
    );
  return zone;
}

function statusWords(vm: InstanceView, o: InstanceOverview | null): string {
  if (o === null) return 'never seen';
  if (o.awaiting !== null) return `approval pending until ${o.awaiting.until}`;
  const action = o.lastDecision?.action;
  if (action === 'stop' && vm.status === 'TERMINATED') return 'stopped by bootwarden';
  if (action === 'hold' && vm.status === 'RUNNING') return 'held (running, unchanged)';
  if (o.relearned !== null) return `relearned ${o.relearned.at}`;
  return '';
}

export async function instancesCommand(args: string[], io: CommandIo): Promise<number> {
  const p = parse('instances', args, {
    zone: { type: 'string', multiple: true },
    filter: { type: 'string' },
    project: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (flag(p, 'help')) {
    io.stdout.write(INSTANCES_HELP);
    return EXIT.ok;
  }
  const zones = (p.values['zone'] as unknown as string[] | undefined) ?? [];
  if (zones.length === 0) throw new BootwardenError('usage', 'instances: give at least one --zone (see `bootwarden instances --help`)');
  for (const z of zones) checkedZone('instances', z);
  if (p.positionals.length > 0) throw new BootwardenError('usage', `instances: unexpected argument ${JSON.stringify(p.positionals[0])}`);
  const ops = openOperations('instances', io, projectOf('instances', io, stringOption(p, 'project')));
  try {
    const now = io.now();
    const rows: { vm: InstanceView; overview: InstanceOverview | null }[] = [];
    for (const zone of zones) {
      const vms = await ops.compute.list(ops.project, zone, stringOption(p, 'filter'));
      const overviews = await Promise.all(
        vms.map((vm) => ops.instanceState.overview({ project: vm.project, zone: vm.zone, id: vm.id }, now)),
      );
      vms.forEach((vm, i) => rows.push({ vm, overview: overviews[i] ?? null }));
    }
    if (flag(p, 'json')) {
      for (const { vm, overview } of rows) io.stdout.write(`${JSON.stringify({ ...vm, bootwarden: overview })}\n`);
      return EXIT.ok;
    }
    io.stdout.write(
      table(
        ['NAME', 'ID', 'ZONE', 'STATUS', 'BOOT', 'LAST DECISION', 'BOOTWARDEN'],
        rows.map(({ vm, overview: o }) => [
          vm.name,
          vm.id,
          vm.zone,
          vm.status,
          o?.latestBoot?.bootCounter ?? '-',
          o?.lastDecision === null || o === null ? '-' : `${o.lastDecision.action} (${o.lastDecision.reasonCode}) ${o.lastDecision.at}`,
          statusWords(vm, o),
        ]),
      ),
    );
    return EXIT.ok;
  } finally {
    await ops.close();
  }
}

export async function relearnCommand(args: string[], io: CommandIo): Promise<number> {
  const p = parse('relearn', args, { zone: { type: 'string' }, project: { type: 'string' } });
  if (flag(p, 'help')) {
    io.stdout.write(RELEARN_HELP);
    return EXIT.ok;
  }
  const [name, ...extra] = p.positionals;
  if (name === undefined || extra.length > 0)
    throw new BootwardenError('usage', 'relearn: give exactly one instance name (see `bootwarden relearn --help`)');
  const zone = checkedZone('relearn', stringOption(p, 'zone'));
  const ops = openOperations('relearn', io, projectOf('relearn', io, stringOption(p, 'project')));
  const refuse = (why: string): number => {
    io.stderr.write(`bootwarden: relearn of ${name} refused: ${why}\n`);
    return EXIT.failure;
  };
  try {
    const vm = await ops.compute.get(ops.project, zone, name);
    if (vm.status !== 'RUNNING')
      return refuse(
        `it is ${vm.status}; Compute relearns only a RUNNING VM's most recent boot (start it, and let its late-boot report be decided)`,
      );
    const ref: InstanceRef = { project: ops.project, zone, id: vm.id };
    const o = await ops.instanceState.overview(ref, io.now());
    if (o?.latestBoot == null)
      return refuse(`bootwarden has seen no boot report of it (instance ${vm.id}): nothing says what its current boot measured`);
    if (vm.lastStartTimestamp !== null && Date.parse(vm.lastStartTimestamp) > Date.parse(o.latestBoot.seenAt))
      return refuse(
        `it started again at ${vm.lastStartTimestamp}, after the latest boot report bootwarden saw (boot ${o.latestBoot.bootCounter} at ${o.latestBoot.seenAt}); wait for the new boot's late-boot report`,
      );
    if (o.awaiting !== null)
      return refuse(
        `operators are being asked about it in Slack until ${o.awaiting.until} (execution ${o.awaiting.execution}): decide there`,
      );
    const requestId = computeRequestId(`${instanceStateId(ref)}:${o.latestBoot.bootCounter}`, 'manual-relearn');
    await ops.compute.relearn(ops.project, zone, name, requestId);
    await ops.instanceState.recordManualRelearn(ref, {
      by: io.config.operator,
      at: io.now().toISOString(),
      bootCounter: o.latestBoot.bootCounter,
      requestId,
    });
    io.stdout.write(
      `relearned ${name} (instance ${vm.id}): its policy is now boot ${o.latestBoot.bootCounter}'s measurements (request ${requestId})\n`,
    );
    return EXIT.ok;
  } finally {
    await ops.close();
  }
}
