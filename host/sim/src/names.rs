//! The names fault rules may target: the WebQQ endpoints the simulator
//! serves and the OneBot actions its OneBot face answers. A leaf module,
//! so `faults` can check a rule's name without importing the routes.

/// Endpoint names, as used by fault rules (the last path segment).
pub(crate) const ENDPOINTS: &[&str] = &[
    "login",
    "xlogin",
    "ptqrshow",
    "ptqrlogin",
    "check_sig",
    "logout",
    "proxy.html",
    "pingd",
    "getvfwebqq",
    "get_user_friends2",
    "get_group_name_list_mask2",
    "get_discus_list",
    "get_self_info2",
    "get_friend_info2",
    "get_single_long_nick2",
    "get_group_info_ext2",
    "get_friend_uin2",
    "login2",
    "poll2",
    "get_online_buddies2",
    "get_recent_list2",
    "get_discu_info",
    "change_status2",
    "send_buddy_msg2",
    "send_qun_msg2",
    "send_discu_msg2",
];

/// The actions the simulator implements (fault rules may name them).
pub(crate) const ACTIONS: &[&str] = &[
    "send_private_msg",
    "send_group_msg",
    "send_msg",
    "delete_msg",
    "get_login_info",
    "get_stranger_info",
    "get_friend_list",
    "get_group_list",
    "get_group_info",
    "get_group_member_list",
    "get_group_member_info",
    "get_status",
    "get_version_info",
    "can_send_image",
    "can_send_record",
];
