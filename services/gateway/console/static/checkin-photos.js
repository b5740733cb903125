// The photos checked in from this browser tab, by session and file name, so that the review queue can show
// the face of a near miss (the gateway keeps no photo). In memory only: gone when the tab closes.
const photos = new Map();  // "<session>/<filename>" -> File

export const rememberPhoto = (sessionId, file) => photos.set(sessionId + "/" + file.name, file);
export const photoFor = (sessionId, filename) => photos.get(sessionId + "/" + filename) || null;
export const forgetPhotos = () => photos.clear();
