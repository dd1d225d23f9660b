// Run by test/postgres-driver.test.ts in a process of its own (`node <this> <url>`), since what it
// checks is that the process survives: a transaction whose backend is terminated while two queries
// are queued on it. Unpatched postgres.js 3.4.9 throws from a setImmediate (socket.write on null)
// and the process dies; patched, both queries fail with a connection error and the pool goes on.
import postgres from 'postgres';

const url = process.argv[2];
const sql = postgres(url, { max: 2, onnotice: () => {} });
const killer = postgres(url, { max: 1, onnotice: () => {} });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const outcome = (promise) => promise.then(() => 'ok', (error) => error.code ?? error.message);

const queued = [];
const transaction = await outcome(
  sql.begin(async (tx) => {
    const [{ pid }] = await tx`select pg_backend_pid() as pid`;
    await killer`select pg_terminate_backend(${pid})`;
    // At once, as concurrent work on a transaction does: the socket closes around these writes.
    queued.push(outcome(tx`select 1`), outcome(tx`select 2`));
    await sleep(100);
  }),
);
const [after] = await sql`select 42 as answer`;
console.log(JSON.stringify({ transaction, queued: await Promise.all(queued), after: after.answer }));
await sql.end({ timeout: 1 });
await killer.end({ timeout: 1 });
