-- `net.cmsghdr` of the luanet dialect: control messages (SCM_RIGHTS) for sendmsg/recvmsg,
-- kept with net.msghdr, which uses them.
return require("luanet.net.msghdr").cmsghdr
