// One system in its own process (run.ts starts it with an IPC channel): loads the system, measures
// its cells and reports rows as they finish. A crash or hang here costs the run only this system.
import { errText, measureSystem } from "./measure.js";
import { systemById } from "./plan.js";
import type { ChildMessage, Job, SystemImpl } from "./types.js";

const send = (m: ChildMessage): Promise<void> =>
  new Promise((res) => {
    if (!process.send) {
      process.stdout.write(`${JSON.stringify(m)}\n`);
      res();
    } else process.send(m, () => res());
  });

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? "{}") as Job;
  const spec = systemById(job.system);
  if (!spec?.load) throw new Error(`no loader for system '${job.system}'`);
  let impl: SystemImpl;
  try {
    impl = await spec.load();
  } catch (e) {
    await send({ type: "fatal", reason: errText(e) });
    return;
  }
  if (impl.info) await send({ type: "info", info: impl.info });
  await measureSystem(impl, job, send);
  await send({ type: "done" });
  await impl.close?.(); // after "done": every row is in, whatever teardown does

}

process.on("unhandledRejection", (e) => void send({ type: "fatal", reason: errText(e) }).then(() => process.exit(1)));
main().then(
  () => process.exit(0),
  (e: unknown) => void send({ type: "fatal", reason: errText(e) }).then(() => process.exit(1)),
);
