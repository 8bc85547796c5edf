// The browser's own media for a call: opening the camera, microphone and screen,
// and playing a stream in a <video>.

const VIDEO = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24 } };

/** The message that explains why the camera/microphone could not be opened. */
export function mediaErrorKey(error) {
  return error?.name === "NotAllowedError" || error?.name === "SecurityError" ? "call.cameraDenied" : "call.noCamera";
}

/** Camera and microphone; just one of them when the other is missing or busy. */
export async function openCamera() {
  const media = navigator.mediaDevices;
  try {
    return await media.getUserMedia({ audio: true, video: VIDEO });
  } catch (error) {
    if (!["NotFoundError", "NotReadableError", "OverconstrainedError"].includes(error?.name)) throw error;
    for (const constraints of [{ audio: true }, { video: VIDEO }]) {
      try {
        return await media.getUserMedia(constraints);
      } catch {
        // try the next one
      }
    }
    throw error;
  }
}

/** A screen (or window) to share, without sound. */
export function openScreen() {
  return navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
}

/** Show `stream` in `video` without its sound. */
export function playMuted(video, stream) {
  video.muted = true; // sound goes through an <audio> element: muted video may always autoplay
  video.srcObject = stream;
  video.play().catch(() => {});
}
