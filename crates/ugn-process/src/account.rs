//! Users and groups by name, for `--user` and `--group`: resolved in the master, so a name
//! that does not exist is refused before anything binds, and workers switch to plain ids.

use std::ffi::CString;
use std::io;
use std::mem::MaybeUninit;
use std::ptr;

/// The uid of a user name, or None if there is no such user.
pub fn user_id(name: &str) -> io::Result<Option<u32>> {
    let name = CString::new(name).map_err(|_| io::ErrorKind::InvalidInput)?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut pwd = MaybeUninit::<libc::passwd>::uninit();
    let mut found = ptr::null_mut();
    // SAFETY: every pointer is valid for the call; found points into pwd or is null.
    let rc = unsafe {
        libc::getpwnam_r(
            name.as_ptr(),
            pwd.as_mut_ptr(),
            buf.as_mut_ptr(),
            buf.len(),
            &mut found,
        )
    };
    if found.is_null() {
        return if rc == 0 {
            Ok(None)
        } else {
            Err(io::Error::from_raw_os_error(rc))
        };
    }
    // SAFETY: getpwnam_r filled pwd, since found is not null.
    Ok(Some(unsafe { pwd.assume_init() }.pw_uid))
}

/// The gid of a group name, or None if there is no such group.
pub fn group_id(name: &str) -> io::Result<Option<u32>> {
    let name = CString::new(name).map_err(|_| io::ErrorKind::InvalidInput)?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut grp = MaybeUninit::<libc::group>::uninit();
    let mut found = ptr::null_mut();
    // SAFETY: as above.
    let rc = unsafe {
        libc::getgrnam_r(
            name.as_ptr(),
            grp.as_mut_ptr(),
            buf.as_mut_ptr(),
            buf.len(),
            &mut found,
        )
    };
    if found.is_null() {
        return if rc == 0 {
            Ok(None)
        } else {
            Err(io::Error::from_raw_os_error(rc))
        };
    }
    // SAFETY: as above.
    Ok(Some(unsafe { grp.assume_init() }.gr_gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_root_and_refuses_unknown_names() {
        assert_eq!(user_id("root").unwrap(), Some(0));
        assert_eq!(group_id("root").unwrap(), Some(0));
        assert_eq!(user_id("no_such_user_ugn").unwrap(), None);
        assert_eq!(group_id("no_such_group_ugn").unwrap(), None);
    }
}
