export {
  type RedisClusterHandle,
  type RedisClusterNode,
  type StartRedisClusterOptions,
  startRedisCluster,
} from './cluster.js';
export {
  type CommandResult,
  cleanEnvironment,
  networkSettings,
  type RunOptions,
  runCommand,
  succeed,
} from './command.js';
export {
  createDurablePublisher,
  type DurablePublisher,
  type DurablePublisherOptions,
  type DurablePublishResult,
} from './durable-publish.js';
export {
  brokenMarkdownLinks,
  type FencedBlock,
  fencedBlocks,
  headingAnchors,
  type MarkdownLink,
  markdownFiles,
  markdownLinks,
  repositoryFiles,
} from './markdown.js';
export { freePort } from './ports.js';
export {
  assertRedisInstalled,
  portAcceptsConnections,
  type RedisHandle,
  type StartRedisOptions,
  startRedis,
} from './redis.js';
export { type WaitForOptions, waitFor } from './wait.js';
