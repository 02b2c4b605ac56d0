import type { Environment, Webhook } from '../db/schema.js';
import { flag } from '../lib/format.js';

/** An environment as the REST API shows it: every number a string. */
export function toPipeEnvironment(env: Environment) {
  return {
    id: String(env.id),
    env_id: String(env.env_id),
    env_code: env.env_code,
    env_name: env.env_name,
    do_not_store: flag(env.do_not_store),
    send_video_email: flag(env.send_video_email),
    region: env.region,
    collect_ip: flag(env.collect_ip),
    collect_ua: flag(env.collect_ua),
    collect_referer: flag(env.collect_referer),
    collect_device_names: flag(env.collect_device_names),
    lifecycle_days: env.lifecycle_days === null ? null : String(env.lifecycle_days),
    filmstrip: flag(env.filmstrip),
  };
}

/** A webhook as the REST API shows it; its secret is never part of it. */
export function toPipeWebhook(hook: Webhook) {
  return {
    id: String(hook.id),
    webhook: hook.webhook,
    webhook_recorded: flag(hook.webhook_recorded),
    webhook_transcoded: flag(hook.webhook_transcoded),
    webhook_converted: flag(hook.webhook_converted),
    webhook_copied_pipe_s3: flag(hook.webhook_copied_pipe_s3),
    webhook_copied_s3: flag(hook.webhook_copied_s3),
    webhook_copied_ftp: flag(hook.webhook_copied_ftp),
    webhook_copied_dbox: flag(hook.webhook_copied_dbox),
    env_id: String(hook.env_id),
    active: flag(hook.active),
    format: hook.format,
  };
}
