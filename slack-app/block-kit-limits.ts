/**
 * Slack's Block Kit limits for a message, as its reference pages state them. The app's messages
 * (slack-app/message.ts) are built within them, and the Slack Web API stand-in
 * (devstack/slack-web-api.ts) refuses what exceeds them, as Slack does (`invalid_blocks`).
 *
 * - https://docs.slack.dev/reference/block-kit/blocks: up to 50 blocks in a message; `block_id`
 *   at most 255 characters.
 * - https://docs.slack.dev/reference/block-kit/blocks/section-block: `text` at most 3,000
 *   characters; `fields` at most 10 items of at most 2,000 characters each.
 * - https://docs.slack.dev/reference/block-kit/blocks/header-block: `text` at most 150 characters.
 * - https://docs.slack.dev/reference/block-kit/blocks/context-block: at most 10 elements.
 * - https://docs.slack.dev/reference/block-kit/blocks/actions-block: at most 25 elements.
 * - https://docs.slack.dev/reference/block-kit/block-elements/button-element: `text` at most 75
 *   characters, `value` at most 2,000, `action_id` at most 255.
 */
export const BLOCK_KIT_LIMITS = {
  blocksPerMessage: 50,
  blockId: 255,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  headerText: 150,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
} as const;
