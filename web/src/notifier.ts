// How an alert reaches a trader who is looking elsewhere: a desktop
// notification when the browser allows it, and an optional short tone.

import { type AlertHit, describe } from "./alerts";

let audio: AudioContext | undefined;

/** beep plays a short tone; browsers allow it once the page has been clicked. */
export function beep(): void {
  try {
    audio ??= new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.25);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.25);
  } catch {
    // No audio device or not allowed yet: the notification still shows.
  }
}

/** notificationsAllowed reports whether desktop notifications may be shown. */
export function notificationsAllowed(): boolean {
  return typeof Notification !== "undefined" && Notification.permission === "granted";
}

/** askForNotifications asks the browser for permission; it must follow a click. */
export async function askForNotifications(): Promise<boolean> {
  if (typeof Notification === "undefined") return false;
  return (await Notification.requestPermission()) === "granted";
}

/** desktopNotify shows a hit as a desktop notification and plays its sound. */
export function desktopNotify(hit: AlertHit): void {
  const more = hit.more > 0 ? ` (+${hit.more} more)` : "";
  if (notificationsAllowed()) {
    try {
      new Notification(`liveflow: ${hit.rule.name}${more}`, { body: describe(hit.event), tag: hit.rule.id });
    } catch {
      // Some browsers only notify from a service worker; the in-page log has it.
    }
  }
  if (hit.rule.sound) beep();
}
