// kafkajs (npm) against server-start: admin create/list, producer, a consumer group reading
// everything from the beginning, committed offsets visible to the admin. Prints PASS/FAIL lines.
import { createRequire } from "module";
const require = createRequire(process.env.KAFKAJS_PREFIX + "/package.json");
const { Kafka, logLevel } = require("kafkajs");

const broker = process.env.BROKER;
const pass = (name) => console.log(`PASS kafkajs.${name}`);
const fail = (name, why) => {
  console.log(`FAIL kafkajs.${name}: ${why}`);
  process.exit(1);
};

const kafka = new Kafka({ clientId: "interop", brokers: [broker], logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
const created = await admin.createTopics({ topics: [{ topic: "js", numPartitions: 3 }] });
if (!created) fail("admin-create", "createTopics returned false");
const topics = await admin.listTopics();
if (!topics.includes("js")) fail("admin-list", JSON.stringify(topics));
pass("admin");

const producer = kafka.producer();
await producer.connect();
const sent = [];
for (let i = 0; i < 30; i++) sent.push({ key: `k${i % 7}`, value: `v${i}` });
await producer.send({ topic: "js", messages: sent });
await producer.disconnect();
pass("producer");

const consumer = kafka.consumer({ groupId: "jsg", sessionTimeout: 10000, rebalanceTimeout: 10000 });
await consumer.connect();
await consumer.subscribe({ topic: "js", fromBeginning: true });
const seen = [];
await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`only ${seen.length} of 30 records`)), 30000);
  consumer
    .run({
      eachMessage: async ({ message }) => {
        seen.push(message.value.toString());
        if (seen.length === 30) {
          clearTimeout(timer);
          resolve();
        }
      },
    })
    .catch(reject);
}).catch((e) => fail("consumer-group", e.message));
await consumer.disconnect(); // commits and leaves the group
const want = sent.map((m) => m.value).sort();
if (JSON.stringify(seen.sort()) !== JSON.stringify(want)) fail("consumer-group", "records differ");
pass("consumer-group");

const offsets = await admin.fetchOffsets({ groupId: "jsg", topics: ["js"] });
const committed = offsets[0].partitions.reduce((n, p) => n + Number(p.offset), 0);
if (committed !== 30) fail("committed-offsets", JSON.stringify(offsets));
pass("committed-offsets");
await admin.deleteTopics({ topics: ["js"] });
await admin.disconnect();
pass("admin-delete");
