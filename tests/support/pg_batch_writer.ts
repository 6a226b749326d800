// Appends batches of 2,000 events to PostgreSQL until killed, printing a line
// before and after each append. Used by the SIGKILL test.
import postgres from "postgres";
import { PostgresEventStore } from "@verdict/verdict/postgres";

const [url, schema, run] = Deno.args;
const store = new PostgresEventStore(postgres(url, { max: 2 }), { schema });
const payload = "p".repeat(200);
for (let batch = 0;; batch++) {
  console.log(`starting ${batch}`);
  await store.appendToStream(
    `batch-${batch % 3}`,
    Array.from({ length: 2_000 }, (_, i) => ({
      type: "Written",
      data: { batch: `${run}-${batch}`, i, payload },
    })),
  );
  console.log(`committed ${batch}`);
}
