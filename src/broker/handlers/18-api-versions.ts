import { ErrorCode } from "../../protocol/errors.js";
import { API_CODECS } from "../../protocol/generated/index.js";
import { defineHandler } from "./handler.js";

/** KIP-511: client software names and versions must look like this, or the request is invalid. */
const SOFTWARE_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

export default defineHandler(API_CODECS.ApiVersions, (request, ctx) => {
  const apiKeys = ctx.broker.supportedApis.map(({ apiKey, minVersion, maxVersion }) => ({
    apiKey,
    minVersion,
    maxVersion,
  }));
  if (
    ctx.apiVersion >= 3 &&
    !(SOFTWARE_PATTERN.test(request.clientSoftwareName) && SOFTWARE_PATTERN.test(request.clientSoftwareVersion))
  ) {
    return { errorCode: ErrorCode.INVALID_REQUEST, apiKeys: [], throttleTimeMs: 0 };
  }
  return { errorCode: ErrorCode.NONE, apiKeys, throttleTimeMs: 0 };
});
